"""POST /predict/anomaly."""

from __future__ import annotations

from fastapi import APIRouter, Request

from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import respond
from nivesh_ml.serving.routes._docs import USER_ERRORS
from nivesh_ml.serving.schemas import AnomalyRequest, AnomalyResponse

router = APIRouter(prefix="/predict", tags=["predictions"])


@router.post("/anomaly", responses=USER_ERRORS)
async def predict_anomaly(
    body: AnomalyRequest, state: StateDep, _key: PredictKey, http: Request
) -> AnomalyResponse:
    """Score a transaction against the user's usual behaviour; flag it, with reasons."""
    user_id = body.transaction.user_id
    request = body.model_dump(mode="json")
    return await respond(
        http, state, "anomaly", request, AnomalyResponse, user_id=user_id, read_features=True
    )
