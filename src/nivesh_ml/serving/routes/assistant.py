"""POST /assistant/chat."""

from __future__ import annotations

from fastapi import APIRouter, Request

from nivesh_ml.pii import redact
from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.predict import respond
from nivesh_ml.serving.routes._docs import PREDICT_ERRORS
from nivesh_ml.serving.schemas import ChatRequest, ChatResponse

router = APIRouter(prefix="/assistant", tags=["assistant"])


@router.post("/chat", responses=PREDICT_ERRORS)
async def chat(body: ChatRequest, state: StateDep, _key: PredictKey, http: Request) -> ChatResponse:
    """The assistant's reply to a conversation; PII is masked in the messages and in the reply."""
    messages = [{"role": message.role, "content": redact(message.content)} for message in body.messages]
    answer = await respond(http, state, "assistant", {"messages": messages}, ChatResponse)
    return answer.model_copy(update={"reply": redact(answer.reply)})  # a model may repeat PII
