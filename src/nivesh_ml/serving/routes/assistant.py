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
    """The assistant's reply to a conversation; PII is masked in the messages and in the reply."""
    messages = [{"role": message.role, "content": redact(message.content)} for message in body.messages]
    answer = predict(state, "assistant", {"messages": messages}, ChatResponse)
    return answer.model_copy(update={"reply": redact(answer.reply)})  # a model may repeat PII
