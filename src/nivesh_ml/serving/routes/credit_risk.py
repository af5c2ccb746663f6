"""POST /predict/credit-risk."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from nivesh_ml.features.definitions import get_view
from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import predict
from nivesh_ml.serving.routes._docs import USER_ERRORS
from nivesh_ml.serving.schemas import CreditRiskRequest, CreditRiskResponse

router = APIRouter(prefix="/predict", tags=["predictions"])

# The view credit risk reads: flat features sent in the body are filed under it.
PROFILE_VIEW = "user_financial_profile"


def _by_view(features: dict[str, Any]) -> dict[str, Any]:
    """Features shaped as the online store gives them: ``{"<view>:v<n>": {...}}``."""
    if all(":v" in name and isinstance(value, dict) for name, value in features.items()):
        return features
    return {str(get_view(PROFILE_VIEW).key): features}


@router.post("/credit-risk", responses=USER_ERRORS)
def predict_credit_risk(body: CreditRiskRequest, state: StateDep, _key: PredictKey) -> CreditRiskResponse:
    """Probability of default and risk band, from a user's online features or from features sent."""
    request = body.model_dump(mode="json", exclude_none=True)
    if body.features is not None:
        request["features"] = _by_view(request["features"])
        return predict(state, "credit-risk", request, CreditRiskResponse)
    return predict(
        state, "credit-risk", request, CreditRiskResponse, user_id=body.user_id, read_features=True
    )
