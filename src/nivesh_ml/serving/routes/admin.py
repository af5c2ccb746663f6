"""POST /admin/reload, POST /admin/cache/clear (admin scope)."""

from __future__ import annotations

from fastapi import APIRouter

from nivesh_ml.serving.deps import AdminKey, StateDep
from nivesh_ml.serving.routes._docs import ADMIN_ERRORS
from nivesh_ml.serving.schemas import ReloadOutcome

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reload", responses=ADMIN_ERRORS)
def reload_models(state: StateDep, _key: AdminKey) -> list[ReloadOutcome]:
    """Load every alias's version again from the registry now (also one that failed before)."""
    return [ReloadOutcome(**result.__dict__) for result in state.reload(force=True)]


@router.post("/cache/clear", responses=ADMIN_ERRORS)
def clear_caches(state: StateDep, _key: AdminKey) -> dict[str, int]:
    """Forget cached model loads and accepted API keys (a revoked key is refused from now on)."""
    return state.clear_caches()
