"""POST /assistant/chat."""

from __future__ import annotations

from fastapi import APIRouter

from nivesh_ml.pii import redact
from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import predict
from nivesh_ml.serving.routes._docs import PREDICT_ERRORS
from nivesh_ml.serving.schemas import ChatRequest, ChatResponse

router = APIRouter(prefix="/assistant", tags=["assistant"])


@router.post("/chat", responses=PREDICT_ERRORS)
def chat(body: ChatRequest, state: StateDep, _key: PredictKey) -> ChatResponse:
    """The assistant's reply to a conversation; PII in the messages is masked before the LLM sees it."""
    messages = [{"role": message.role, "content": redact(message.content)} for message in body.messages]
    return predict(state, "assistant", {"messages": messages}, ChatResponse)
