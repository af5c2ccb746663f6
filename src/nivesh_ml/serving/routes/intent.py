"""POST /predict/intent."""

from __future__ import annotations

from fastapi import APIRouter, Request

from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import respond
from nivesh_ml.serving.routes._docs import PREDICT_ERRORS
from nivesh_ml.serving.schemas import IntentRequest, IntentResponse

router = APIRouter(prefix="/predict", tags=["predictions"])


@router.post("/intent", responses=PREDICT_ERRORS)
async def predict_intent(
    body: IntentRequest, state: StateDep, _key: PredictKey, http: Request
) -> IntentResponse:
    """Classify a user's query into an intent (``fallback`` when unsure), with the runners-up."""
    return await respond(http, state, "intent", body.model_dump(mode="json"), IntentResponse)
