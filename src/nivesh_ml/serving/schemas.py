"""Request and response bodies of the HTTP API, with the examples ``/docs`` shows.

Requests are strict about shape (unknown top-level fields are refused, sizes are bounded);
responses carry what the models answer (their documented fields, plus any extra fields a model
adds) and always ``prediction_id`` and ``model_version``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
    create_model,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from nivesh_ml.features.definitions import SPEND_CATEGORIES
from nivesh_ml.models.credit_risk.schema import NIVESH_SCHEMA, FeatureSpec

__all__ = [
    "AnomalyRequest",
    "AnomalyResponse",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "CreditFeatures",
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


# Text with at least one character that no regex engine (ECMA, Python, Rust) counts as blank.
VISIBLE = r"[^\s\x1c-\x1f\x85]"
# Amounts are JSON numbers, never strings or booleans; INR far above any real figure is a unit error.
Amount = Annotated[float, Field(strict=True, gt=0, le=1e10, allow_inf_nan=False, examples=[48_500.0])]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # no Nivesh user has a transaction before this
FUTURE_SLACK = timedelta(days=1)  # clocks and time zones: a little ahead of ours is still "now"


def _plausible_time(value: datetime) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if aware < EARLIEST:
        raise ValueError(f"is before {EARLIEST:%Y-%m-%d}; send the transaction's real time")
    if aware > datetime.now(UTC) + FUTURE_SLACK:
        raise ValueError("is in the future; send the transaction's real time")
    return value


def _dates_until(day: date) -> str:
    """A pattern for ISO date-times from 2000-01-01 to the day before ``day``, in any time zone.

    JSON Schema cannot compare dates: this pattern tells a client (and a fuzzer) the range the
    server accepts, as of the day the server started (so it only grows stricter than the server
    as days pass). Days past the 28th are left out of earlier months: every match is a real date.
    """
    any_month, any_day = "(?:0[1-9]|1[0-2])", "(?:0[1-9]|1[0-9]|2[0-8])"
    before = day - timedelta(days=1)
    spans = [f"(?:{'|'.join(str(y) for y in range(EARLIEST.year, before.year))})-{any_month}-{any_day}"]
    if before.month > 1:
        spans.append(f"{before.year}-(?:{'|'.join(f'{m:02d}' for m in range(1, before.month))})-{any_day}")
    spans.append(
        f"{before.year}-{before.month:02d}-(?:{'|'.join(f'{d:02d}' for d in range(1, before.day + 1))})"
    )
    clock = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    zone = r"(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9])"
    return f"^(?:{'|'.join(spans)})T{clock}{zone}$"


When = Annotated[
    datetime,
    AfterValidator(_plausible_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _dates_until(datetime.now(UTC).date()),
            "maxLength": 32,  # what the pattern allows at most
            "description": "An ISO 8601 date-time with its zone, from 2000 to no later than a day ahead "
            "of the server's clock.",
        }
    ),
]


def _whole(value: Any) -> Any:
    # JSON Schema's "integer" includes 3.0; a boolean or a string is never a count.
    if isinstance(value, bool | str):
        raise ValueError("must be a whole number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _unstorable(value: Any, where: str = "body") -> str | None:
    """Where in a parsed JSON body a number sits that JSON cannot carry (NaN, Infinity), if any.

    Python's parser takes them although JSON has no such values; they are refused here, so no
    model and no log ever sees one. (A NUL character is valid JSON: the prediction log encodes it.)
    """
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where}: NaN and Infinity are not numbers; send a number or null"
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _unstorable(item, f"{where}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable(item, f"{where}.{index}")
            if found:
                return found
    return None


class _Request(BaseModel):
    """A request body: no unknown fields, and nothing JSON or the database cannot store."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        problem = _unstorable(value)
        if problem:
            raise ValueError(problem)
        return value


class PredictionResponse(BaseModel):
    """What every prediction carries besides the model's answer."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    prediction_id: uuid.UUID = Field(description="Quote it in POST /feedback.")
    model_version: str = Field(description="The registered version that answered.")


# --- intent ----------------------------------------------------------------------------------


class IntentRequest(_Request):
    """A user's query to classify."""

    query: str = Field(
        min_length=1, max_length=2_000, pattern=VISIBLE, examples=["how much did I spend on food last month"]
    )


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

    text: str = Field(
        min_length=1, max_length=10_000, pattern=VISIBLE, examples=["Paid 1,200 to Swiggy on 3 March via UPI"]
    )


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
    category: Literal[SPEND_CATEGORIES] | None = Field(  # type: ignore[valid-type]
        default=None, description="One category only; all of them when left out.", examples=["groceries"]
    )


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
    amount: Amount
    merchant: str = Field(min_length=1, max_length=256, examples=["Croma"])
    category: str = Field(min_length=1, max_length=64, examples=["shopping"])
    timestamp: When = Field(examples=["2025-03-14T02:17:00+05:30"])
    channel: str = Field(min_length=1, max_length=32, examples=["card"])


class RecentTransaction(BaseModel):
    """One of the user's recent transactions, as context for velocity and duplicate checks."""

    model_config = ConfigDict(extra="allow")

    amount: Amount
    merchant: str = Field(min_length=1, max_length=256, examples=["Croma"])
    timestamp: When = Field(examples=["2025-03-14T02:05:00+05:30"])
    category: str | None = Field(None, min_length=1, max_length=64)
    channel: str | None = Field(None, min_length=1, max_length=32)


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


def _credit_field(spec: FeatureSpec) -> tuple[Any, Any]:
    """One credit-risk input as a request field: its JSON type, range and whether it may be left out."""
    kind: Any
    if spec.kind == "category":
        kind = Literal[spec.categories]
    elif spec.kind == "flag":
        kind = (
            Annotated[bool, Field(strict=True)]
            | Annotated[Annotated[int, Field(ge=0, le=1)], BeforeValidator(_whole)]
        )
    elif spec.kind == "count":
        kind = Annotated[Annotated[int, Field(ge=spec.low, le=spec.high)], BeforeValidator(_whole)]
    else:
        kind = Annotated[float, Field(strict=True, ge=spec.low, le=spec.high, allow_inf_nan=False)]
    if spec.nullable:
        return kind | None, Field(None, description=f"{spec.description} Null or left out: unknown.")
    return kind, Field(description=spec.description)


_CREDIT_EXAMPLE: dict[str, Any] = {
    "history_months": 6, "monthly_income": 85_000.0, "income_volatility": 0.12, "avg_monthly_spend": 52_000.0,
    "savings_rate": 0.25, "balance_mean_90d": 140_000.0, "balance_min_90d": 35_000.0,
    "balance_std_90d": 28_000.0, "avg_monthly_emi": 12_000.0, "debt_to_income": 0.14,
    "avg_monthly_card_spend": 18_000.0, "total_credit_limit": 200_000.0, "credit_utilisation": 0.3,
    "n_accounts": 3, "n_savings_accounts": 1, "n_current_accounts": 0, "n_credit_cards": 1, "n_loans": 1,
    "tenure_months": 48, "has_salary_account": True,
}  # fmt: skip
CREDIT_EXAMPLE = {spec.name: _CREDIT_EXAMPLE.get(spec.name, 0) for spec in NIVESH_SCHEMA.features}

_CREDIT_FIELDS: dict[str, Any] = {spec.name: _credit_field(spec) for spec in NIVESH_SCHEMA.features}
# The served credit-risk model's inputs (``models/credit_risk/schema.py``), as a request body.
CreditFeatures: type[BaseModel] = create_model(
    "CreditFeatures",
    __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [CREDIT_EXAMPLE]}),
    __doc__="An applicant's features: every input of the credit-risk model (nullable ones may be left out).",
    **_CREDIT_FIELDS,
)


class CreditRiskRequest(_Request):
    """A user to read features for, or the features themselves: exactly one of the two."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["user_id"]}, {"required": ["features"]}],
            "examples": [{"user_id": "U0000042"}, {"features": CREDIT_EXAMPLE}],
        },
    )

    # Either may be left out, neither may be null: SkipJsonSchema keeps None out of the schema.
    user_id: UserId | SkipJsonSchema[None] = Field(
        None, description="Score this user from their online features."
    )
    features: CreditFeatures | SkipJsonSchema[None] = Field(
        None, description="Score an applicant from these features."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and any(
            value.get(name, ...) is None for name in ("user_id", "features")
        ):
            raise ValueError("user_id and features may not be null: leave out the one you do not send")
        return value

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


MAX_CHAT_CHARS = 4_000  # a chat turn's text; the assistant reads at most its first few hundred tokens


class ChatMessage(BaseModel):
    """One turn of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1, max_length=MAX_CHAT_CHARS, pattern=VISIBLE)


class ChatRequest(_Request):
    """The conversation so far, oldest first; the last message is the user's."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"messages": [{"role": "user", "content": "Can I afford a 20k EMI?"}]}]
        },
    )

    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=50,
        description="At least one turn is the user's; the assistant answers the last of them.",
        json_schema_extra={"contains": {"properties": {"role": {"const": "user"}}, "required": ["role"]}},
    )

    @model_validator(mode="after")
    def _has_user_turn(self) -> ChatRequest:
        if not any(message.role == "user" for message in self.messages):
            raise ValueError("send at least one message with role 'user'")
        return self


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


class Problem(BaseModel):
    """One field of a request that failed validation."""

    where: str = Field(examples=["transaction.amount"])
    message: str
    type: str


class ErrorBody(BaseModel):
    """Every error response."""

    error: str = Field(examples=["unavailable"])
    message: str = Field(examples=["nivesh-intent has no version with alias 'champion'"])
    problems: list[Problem] | None = Field(None, description="For 422: every field that failed, and why.")


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
