"""POST /predict/ner."""

from __future__ import annotations

from fastapi import APIRouter, Request

from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import respond
from nivesh_ml.serving.routes._docs import PREDICT_ERRORS
from nivesh_ml.serving.schemas import NerRequest, NerResponse

router = APIRouter(prefix="/predict", tags=["predictions"])


@router.post("/ner", responses=PREDICT_ERRORS)
async def predict_ner(body: NerRequest, state: StateDep, _key: PredictKey, http: Request) -> NerResponse:
    """Find financial entities (amounts, merchants, dates, ...) in a text, with character spans."""
    return await respond(http, state, "ner", body.model_dump(mode="json"), NerResponse)
