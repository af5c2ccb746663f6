"""POST /predict/spending."""

from __future__ import annotations

from fastapi import APIRouter, Request

from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import respond
from nivesh_ml.serving.routes._docs import USER_ERRORS
from nivesh_ml.serving.schemas import SpendingRequest, SpendingResponse

router = APIRouter(prefix="/predict", tags=["predictions"])


@router.post("/spending", responses=USER_ERRORS)
async def predict_spending(
    body: SpendingRequest, state: StateDep, _key: PredictKey, http: Request
) -> SpendingResponse:
    """Forecast a user's monthly spend per category, with intervals, from their online features."""
    request = body.model_dump(mode="json")
    return await respond(
        http, state, "spending", request, SpendingResponse, user_id=body.user_id, read_features=True
    )
