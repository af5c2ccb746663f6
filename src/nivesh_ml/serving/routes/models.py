"""GET /models."""

from __future__ import annotations

from fastapi import APIRouter

from nivesh_ml.serving.deps import AnyKey, StateDep
from nivesh_ml.serving.errors import public_text
from nivesh_ml.serving.routes._docs import KEY_ERRORS
from nivesh_ml.serving.schemas import ModelStatus
from nivesh_ml.serving.slots import Slot
from nivesh_ml.serving.state import ServerState
from nivesh_ml.tracking.store import registered_name

router = APIRouter(tags=["operations"])


def _traffic(state: ServerState, slot: Slot) -> str:
    if slot.current is None:
        return "idle"
    if slot.alias == "champion":
        return "main"
    plan = state.router.plan(slot.key)
    return plan.describe() if plan is not None else "idle"


def _status(state: ServerState, slot: Slot) -> ModelStatus:
    served = slot.current
    return ModelStatus(
        model=slot.key,
        name=registered_name(slot.key),
        alias=slot.alias,
        version=served.version if served else None,
        loaded_at=served.loaded_at if served else None,
        metric=served.metric if served else "",
        traffic=_traffic(state, slot),
        error=public_text(slot.error) if slot.error else None,
    )


@router.get("/models", responses=KEY_ERRORS)
def list_models(state: StateDep, _key: AnyKey) -> list[ModelStatus]:
    """Every model alias the server knows: version served, when loaded, key metric, traffic, error."""
    return [
        _status(state, slot)
        for slot in state.slots.slots()
        if slot.alias == "champion" or slot.current is not None or slot.registered is not None
    ]
