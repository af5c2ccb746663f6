"""POST /predict/credit-risk."""

from __future__ import annotations

from fastapi import APIRouter, Request

from nivesh_ml.features.definitions import get_view
from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import respond
from nivesh_ml.serving.routes._docs import USER_ERRORS
from nivesh_ml.serving.schemas import CreditRiskRequest, CreditRiskResponse

router = APIRouter(prefix="/predict", tags=["predictions"])

# The view credit risk reads: features sent in the body are filed under it.
PROFILE_VIEW = "user_financial_profile"


@router.post("/credit-risk", responses=USER_ERRORS)
async def predict_credit_risk(
    body: CreditRiskRequest, state: StateDep, _key: PredictKey, http: Request
) -> CreditRiskResponse:
    """Probability of default and risk band, from a user's online features or from features sent."""
    if body.features is not None:
        features = body.features.model_dump(mode="json")  # nullable features left out arrive as null
        request = {"features": {str(get_view(PROFILE_VIEW).key): features}}
        return await respond(http, state, "credit-risk", request, CreditRiskResponse)
    return await respond(
        http, state, "credit-risk", body.model_dump(mode="json"), CreditRiskResponse,
        user_id=body.user_id, read_features=True,
    )  # fmt: skip
