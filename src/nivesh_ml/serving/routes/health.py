"""GET /health, /ready, /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nivesh_ml.serving.deps import AnyKey, StateDep
from nivesh_ml.serving.routes._docs import KEY_ERRORS
from nivesh_ml.serving.schemas import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> Health:
    """The process is up (no key needed)."""
    return Health()


@router.get(
    "/ready",
    response_model=Readiness,
    responses={**KEY_ERRORS, 503: {"model": Readiness, "description": "Not ready; the report says why."}},
)
def ready(state: StateDep, _key: AnyKey) -> JSONResponse:
    """Every registered champion loaded and every store reachable; 503 with the report otherwise."""
    is_ready, components = state.readiness()
    body = Readiness(ready=is_ready, components=components).model_dump(mode="json")
    return JSONResponse(body, status_code=200 if is_ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    """Prometheus metrics of this server (no key needed)."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
