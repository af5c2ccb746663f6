"""Request and response bodies of the HTTP API, with the examples ``/docs`` shows.

Requests are strict about shape (unknown top-level fields are refused, sizes are bounded);
responses carry what the models answer (their documented fields, plus any extra fields a model
adds) and always ``prediction_id`` and ``model_version``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

__all__ = [
    "AnomalyRequest",
    "AnomalyResponse",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "CreditRiskRequest",
    "CreditRiskResponse",
    "Entity",
    "ErrorBody",
    "FeedbackRequest",
    "ForecastPoint",
    "Health",
    "IntentAlternative",
    "IntentRequest",
    "IntentResponse",
    "ModelStatus",
    "NerRequest",
    "NerResponse",
    "PredictionResponse",
    "Readiness",
    "Reason",
    "ReloadOutcome",
    "SpendingRequest",
    "SpendingResponse",
    "Transaction",
]

UserId = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$", examples=["U0000042"]),
]
# A reason is a reason code or text, or an object a model explains itself with (feature, impact...).
Reason = str | dict[str, JsonValue]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredictionResponse(BaseModel):
    """What every prediction carries besides the model's answer."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    prediction_id: uuid.UUID = Field(description="Quote it in POST /feedback.")
    model_version: str = Field(description="The registered version that answered.")


# --- intent ----------------------------------------------------------------------------------


class IntentRequest(_Request):
    """A user's query to classify."""

    query: str = Field(min_length=1, max_length=2_000, examples=["how much did I spend on food last month"])


class IntentAlternative(BaseModel):
    """A runner-up intent."""

    model_config = ConfigDict(extra="allow")

    intent: str
    confidence: float = Field(ge=0, le=1)


class IntentResponse(PredictionResponse):
    """The intent (``fallback`` below the confidence threshold), its confidence, the runners-up."""

    intent: str
    confidence: float = Field(ge=0, le=1)
    alternatives: list[IntentAlternative] = Field(default_factory=list)


# --- ner -------------------------------------------------------------------------------------


class NerRequest(_Request):
    """Text to find financial entities in."""

    text: str = Field(min_length=1, max_length=10_000, examples=["Paid 1,200 to Swiggy on 3 March via UPI"])


class Entity(BaseModel):
    """One entity: its text, label and character span (end exclusive)."""

    model_config = ConfigDict(extra="allow")

    text: str
    label: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class NerResponse(PredictionResponse):
    """The entities found, in text order."""

    entities: list[Entity]


# --- spending --------------------------------------------------------------------------------


class SpendingRequest(_Request):
    """Whose spending to forecast, how far, and optionally in one category only."""

    user_id: UserId
    horizon_months: int = Field(ge=1, le=12, examples=[3])
    category: str | None = Field(default=None, min_length=1, max_length=64, examples=["groceries"])


class ForecastPoint(BaseModel):
    """Forecast spend of one category in one month, with its interval."""

    model_config = ConfigDict(extra="allow")

    month: str = Field(examples=["2025-04"])
    category: str
    amount: float
    lower: float
    upper: float


class SpendingResponse(PredictionResponse):
    """One point per month and category."""

    forecast: list[ForecastPoint]


# --- anomaly ---------------------------------------------------------------------------------


class Transaction(BaseModel):
    """A transaction to score (extra fields, such as ``description``, are passed to the model)."""

    model_config = ConfigDict(extra="allow")

    user_id: UserId
    amount: float = Field(gt=0, le=1e10, examples=[48_500.0])
    merchant: str = Field(min_length=1, max_length=256, examples=["Croma"])
    category: str = Field(min_length=1, max_length=64, examples=["shopping"])
    timestamp: datetime = Field(examples=["2025-03-14T02:17:00+05:30"])
    channel: str = Field(min_length=1, max_length=32, examples=["card"])


class RecentTransaction(BaseModel):
    """One of the user's recent transactions, as context for velocity and duplicate checks."""

    model_config = ConfigDict(extra="allow")

    amount: float = Field(gt=0, le=1e10, examples=[48_500.0])
    merchant: str = Field(min_length=1, max_length=256, examples=["Croma"])
    timestamp: datetime = Field(examples=["2025-03-14T02:05:00+05:30"])
    category: str | None = Field(None, max_length=64)
    channel: str | None = Field(None, max_length=32)


class AnomalyRequest(_Request):
    """One transaction, and optionally the user's transactions of the last 24 hours."""

    transaction: Transaction
    context: list[RecentTransaction] = Field(
        default_factory=list,
        max_length=500,
        description="The user's transactions of the 24 hours before this one (velocity, duplicates); "
        "empty when the caller has none.",
    )


class AnomalyResponse(PredictionResponse):
    """Whether the transaction is flagged, its score in [0, 1], and why."""

    is_anomaly: bool
    score: float
    reasons: list[Reason] = Field(default_factory=list)


# --- credit risk -----------------------------------------------------------------------------


class CreditRiskRequest(_Request):
    """A user to read features for, or the features themselves (exactly one of the two)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "U0000042"}, {"features": {"monthly_income": 85_000}}]},
    )

    user_id: UserId | None = None
    features: dict[str, JsonValue] | None = Field(default=None, min_length=1, max_length=1_000)

    @model_validator(mode="after")
    def _one_of(self) -> CreditRiskRequest:
        if (self.user_id is None) == (self.features is None):
            raise ValueError("send exactly one of user_id and features")
        return self


class CreditRiskResponse(PredictionResponse):
    """Probability of default, its band, and the reasons behind it."""

    probability_of_default: float = Field(ge=0, le=1)
    risk_band: str
    reasons: list[Reason] = Field(default_factory=list)


# --- assistant -------------------------------------------------------------------------------


class ChatMessage(BaseModel):
    """One turn of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=8_000)


class ChatRequest(_Request):
    """The conversation so far, oldest first; the last message is the user's."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"messages": [{"role": "user", "content": "Can I afford a 20k EMI?"}]}]
        },
    )

    messages: list[ChatMessage] = Field(min_length=1, max_length=50)


class ChatResponse(PredictionResponse):
    """The assistant's reply."""

    reply: str


# --- feedback, models, errors ----------------------------------------------------------------


class FeedbackRequest(_Request):
    """The actual outcome of a prediction, once known."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"prediction_id": "7b3c1a52-9d4e-4f6a-8b2c-1d2e3f4a5b6c", "actual": 1}]
        },
    )

    prediction_id: uuid.UUID
    actual: JsonValue = Field(description="The outcome: a label, a number, or any JSON value.")


class ModelStatus(BaseModel):
    """One served model alias."""

    model_config = ConfigDict(protected_namespaces=())

    model: str
    name: str
    alias: str
    version: str | None
    loaded_at: datetime | None
    metric: str = Field(description="The model's gate metric and score, e.g. 'auc 0.8712'.")
    traffic: str = Field(description="'main', 'canary N%', 'shadow', or 'idle'.")
    error: str | None = None


class ErrorBody(BaseModel):
    """Every error response."""

    error: str = Field(examples=["unavailable"])
    message: str = Field(examples=["nivesh-intent has no version with alias 'champion'"])


class ReloadOutcome(BaseModel):
    """What a reload did to one model alias."""

    model_config = ConfigDict(protected_namespaces=())

    model: str
    alias: str
    version: str | None
    previous: str | None
    changed: bool
    error: str | None


class Health(BaseModel):
    """The process is alive."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the server can answer, and the state of each part it needs."""

    ready: bool
    components: dict[str, JsonValue]
