"""POST /predict/intent."""

from __future__ import annotations

from fastapi import APIRouter

from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import predict
from nivesh_ml.serving.routes._docs import PREDICT_ERRORS
from nivesh_ml.serving.schemas import IntentRequest, IntentResponse

router = APIRouter(prefix="/predict", tags=["predictions"])


@router.post("/intent", responses=PREDICT_ERRORS)
def predict_intent(body: IntentRequest, state: StateDep, _key: PredictKey) -> IntentResponse:
    """Classify a user's query into an intent (``fallback`` when unsure), with the runners-up."""
    return predict(state, "intent", body.model_dump(mode="json"), IntentResponse)
