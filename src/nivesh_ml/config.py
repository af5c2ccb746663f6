"""One ``Settings`` for the whole platform: every URL, path, key and threshold.

Values come from ``NIVESH_*`` environment variables, then a ``.env`` file in the working
directory, then the defaults below. Nothing here connects, creates a directory or touches
the process environment at import time: call :func:`load_settings` once at start-up and
pass the result down.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nivesh_ml.errors import ConfigError

__all__ = ["DEFAULT_QUALITY_BARS", "OFFLINE_ENV", "QualityBar", "Settings", "load_settings"]

ENV_PREFIX = "NIVESH_"

# Libraries that would otherwise call out to the internet (telemetry, model hubs).
OFFLINE_ENV: dict[str, str] = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


class QualityBar(BaseModel):
    """The bar a model version must clear on its evaluation data to become challenger."""

    model_config = ConfigDict(frozen=True)

    metric: str
    threshold: float
    higher_is_better: bool = True

    def passes(self, value: float) -> bool:
        """Whether ``value`` of :attr:`metric` clears the bar."""
        return value >= self.threshold if self.higher_is_better else value <= self.threshold


# The issues' targets, relaxed a little so a quick training run can still register a challenger.
# Per-model alarm thresholds, where a model's inputs call for one. Anomaly: a day of debits carries
# its calendar (weekday, bills on their dates) in its category, channel and context columns, which
# drift against any reference on most quiet days; half of the 11 columns, or its flag rate (see
# monitoring.drift, answer columns), is a change of the world (docs/BENCHMARKS.md, "Living platform").
DEFAULT_DRIFT_SHARE_THRESHOLDS: dict[str, float] = {"anomaly": 0.5}

DEFAULT_QUALITY_BARS: dict[str, QualityBar] = {
    "intent": QualityBar(metric="accuracy", threshold=0.90),
    "ner": QualityBar(metric="f1", threshold=0.85),
    "spending": QualityBar(metric="wape", threshold=0.60, higher_is_better=False),
    "anomaly": QualityBar(metric="recall", threshold=0.60),
    "credit-risk": QualityBar(metric="auc", threshold=0.75),
    "assistant": QualityBar(metric="perplexity", threshold=50.0, higher_is_better=False),
}


class Settings(BaseSettings):
    """Platform configuration; every field is ``NIVESH_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # Where things live
    home: Path = Field(Path("var"), description="Data dir: everything nivesh-ml writes lives under it.")
    datasets_dir: Path = Field(
        Path("../shared/data"), description="Folder holding the shipped public data sets (read only)."
    )

    # Backends
    database_url: str = Field("", description="App DB URL; empty means SQLite at <home>/nivesh.db.")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for the online feature store.")
    online_store: Literal["sqlite", "redis"] = Field("sqlite", description="Online feature store backend.")
    redis_key_prefix: str = Field(
        "nivesh:fs", pattern=r"^[A-Za-z0-9:_-]+$", description="Key prefix of the online features in Redis."
    )
    mlflow_tracking_uri: str = Field(
        "", description="MLflow tracking URI; empty means SQLite under <home>/mlflow."
    )

    # Registry and promotion gate
    quality_bars: dict[str, QualityBar] = Field(
        default_factory=lambda: dict(DEFAULT_QUALITY_BARS),
        description="Per model: the metric a version must reach to become challenger (JSON).",
    )
    gate_tolerance: float = Field(
        0.005, ge=0, lt=1, description="How much worse than the champion a new champion may score."
    )
    canary_traffic_percentage: int = Field(
        10, ge=0, le=100, description="Share of traffic the challenger gets (0 = shadow only)."
    )
    canary_min_feedback: int = Field(
        200,
        ge=10,
        description="Predictions with an outcome each side needs, since the canary began, to decide it.",
    )
    canary_alpha: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="Significance of the one-sided Welch t-test that rolls a worse challenger back.",
    )
    promote_via_canary: bool = Field(
        False,
        description="A version that beats the champion at the gate becomes a canary challenger first "
        "(retraining pipelines turn this on); off: it becomes champion at once.",
    )

    # Synthetic data defaults for `nivesh-ml up` / `data generate`
    users: int = Field(10_000, ge=1, le=1_000_000, description="Synthetic users to generate.")
    months: int = Field(24, ge=1, le=120, description="Months of synthetic transactions.")
    seed: int = Field(42, ge=0, description="Seed for every random choice in the platform.")
    outcome_horizon_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Days after a credit-risk score within which a 90-days-past-due event is its default: "
        "the advancing data draws its events for this horizon, and an ingest joins them to the scores "
        "once the data covers it (`nivesh-ml simulate` compresses it to a few days).",
    )

    trust_model_pickles: bool = Field(
        False,
        description="Skip the trusted-type check of model pickles (test fixtures pickled by value only; "
        "never in production). The registry-location check always runs.",
    )

    # Model server
    host: str = Field("127.0.0.1", description="Model server bind address.")
    port: int = Field(8000, ge=1, le=65_535, description="Model server port.")
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Static API keys accepted besides the ones in the app DB (JSON list).",
    )
    rate_limit: str = Field("120/minute", description="Per-key rate limit in `limits` notation.")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes of `nivesh-ml serve`.")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:3000", "http://localhost:3000"],
        description="Origins allowed to call the model server from a browser (JSON list).",
    )
    reload_interval_s: float = Field(
        30.0, ge=0, description="How often the server polls the registry for moved aliases (0: never)."
    )
    feature_refresh_interval_s: float = Field(
        21_600.0,
        ge=0,
        description="How often `nivesh-ml serve` refreshes the online feature views when they are in the"
        " embedded SQLite store (0: never; with Redis, schedule the nivesh_features_refresh DAG).",
    )
    predlog_queue_size: int = Field(
        10_000, ge=1, description="Prediction-log records held in memory before spilling to disk."
    )
    predlog_batch_size: int = Field(200, ge=1, description="Prediction-log rows per database insert.")
    predlog_flush_interval_s: float = Field(
        0.25, gt=0, description="Longest wait before a partial prediction-log batch is written."
    )
    predlog_replay_interval_s: float = Field(
        30.0, gt=0, description="How often spilled prediction-log records are replayed into the DB."
    )
    api_key_cache_ttl_s: float = Field(
        10.0, ge=0, description="How long a checked API key is trusted before the DB is asked again."
    )
    api_key_stale_ttl_s: float = Field(
        3600.0,
        ge=0,
        description="How long after the app DB last accepted a key it keeps working while the DB "
        "cannot be reached (0: unknown to a DB outage, every DB key is then answered 503).",
    )
    api_key_lookup_timeout_s: float = Field(
        2.0, gt=0, description="Longest wait for the app DB to check an API key before answering 503."
    )
    auth_failures_per_minute: int = Field(
        10, ge=1, description="Refused API keys a client address may send per minute before it gets 429."
    )
    shadow_queue_size: int = Field(
        64, ge=1, description="Shadow scorings waiting; beyond it they are dropped (and counted)."
    )
    shutdown_flush_timeout_s: float = Field(
        10.0, gt=0, description="Longest wait for the prediction log to flush on shutdown."
    )
    route_limits: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Per-route overrides of concurrency, queue and timeout_s (JSON), e.g. "
        '{"assistant": {"concurrency": 1, "timeout_s": 20}}; unset routes keep the defaults.',
    )
    header_timeout_s: float = Field(
        10.0, gt=0, description="Longest a client may take to send a request's headers."
    )
    body_timeout_s: float = Field(10.0, gt=0, description="Longest a client may take to send a request body.")

    # Base models (a local Hugging Face checkpoint folder; empty: the packaged default weights)
    intent_base_model: str = Field(
        "", description="Encoder the intent model fine-tunes; empty means all-MiniLM-L6-v2 (packaged)."
    )
    assistant_base_model: str = Field(
        "", description="Causal LM the assistant tunes with LoRA; empty means SmolLM2-135M (packaged)."
    )
    # Vertex AI backend of the assistant (`nivesh-ml train assistant --backend vertex`)
    vertex_project: str = Field("", description="Google Cloud project of the Vertex tuning job.")
    vertex_location: str = Field("us-central1", description="Vertex AI region.")
    vertex_bucket: str = Field("", description="gs://BUCKET/PREFIX the tuning data is uploaded to.")
    vertex_base_model: str = Field("gemini-2.0-flash-001", description="Gemini model id to tune.")

    # Thresholds (the intent model calibrates its own out-of-scope threshold on validation data)
    anomaly_threshold: float = Field(
        0.5, gt=0, lt=1, description="Anomaly score at or above which a flag is raised."
    )
    credit_high_risk_threshold: float = Field(
        0.3, gt=0, lt=1, description="PD at or above which risk is high."
    )
    credit_max_dp_difference: float = Field(
        0.10, gt=0, le=1, description="Largest demographic-parity gap (decline rate) the gate allows."
    )
    credit_max_eo_difference: float = Field(
        0.10, gt=0, le=1, description="Largest equalised-odds gap (TPR or FPR) the gate allows."
    )
    credit_fairness_min_group_size: int = Field(
        50, ge=1, description="Members a group needs before its rates count towards the gaps."
    )
    credit_fairness_min_positives: int = Field(
        20, ge=1, description="Defaulters (and repayers) a group needs before its TPR (FPR) counts."
    )
    credit_fairness_alpha: float = Field(
        0.05, gt=0, lt=1, description="A gap above its limit fails the gate when significant at this level."
    )
    drift_share_threshold: float = Field(0.3, gt=0, le=1, description="Share of drifted columns that alerts.")
    drift_share_thresholds: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_DRIFT_SHARE_THRESHOLDS),
        description="Per model: the share of drifted columns that alerts, instead of the one above (JSON).",
    )
    outcome_alpha: float = Field(
        0.001,
        gt=0,
        lt=1,
        description=(
            "Significance of the one-sided test that raises the outcomes trigger: more defaults or "
            "confirmed frauds than the champion expected (one false alarm in about 3 years of daily checks)."
        ),
    )
    drift_consecutive_checks: int = Field(
        2,
        ge=1,
        le=30,
        description="Consecutive drifted checks of a champion that raise a drift alarm (retrain trigger).",
    )

    # Logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="`auto` is readable text on a terminal, JSON otherwise."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("quality_bars")
    @classmethod
    def _complete_bars(cls, value: dict[str, QualityBar]) -> dict[str, QualityBar]:
        unknown = set(value) - set(DEFAULT_QUALITY_BARS)
        if unknown:
            raise ValueError(
                f"expected bars for {', '.join(DEFAULT_QUALITY_BARS)}; unknown: {', '.join(unknown)}"
            )
        return {**DEFAULT_QUALITY_BARS, **value}

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("expected a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://host:port/db URL")
        return value

    # Derived paths: all under `home`, none created here.
    @property
    def data_dir(self) -> Path:
        """Generated data sets (Parquet)."""
        return self.home / "data"

    @property
    def features_dir(self) -> Path:
        """Offline feature store (Parquet)."""
        return self.home / "features"

    @property
    def models_dir(self) -> Path:
        """Exported model artefacts outside MLflow (ONNX files, spaCy pipelines)."""
        return self.home / "models"

    @property
    def mlflow_dir(self) -> Path:
        """Embedded MLflow backend store and artefacts."""
        return self.home / "mlflow"

    @property
    def db_url(self) -> str:
        """The app database URL, defaulting to SQLite under ``home``."""
        return self.database_url or f"sqlite:///{(self.home / 'nivesh.db').as_posix()}"

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking URI, defaulting to SQLite under ``home``."""
        return self.mlflow_tracking_uri or f"sqlite:///{(self.mlflow_dir / 'mlflow.db').as_posix()}"

    def drift_threshold(self, model: str) -> float:
        """The share of drifted columns that makes ``model``'s data set drifted."""
        return self.drift_share_thresholds.get(model, self.drift_share_threshold)

    def export_offline_env(self) -> None:
        """Tell MLflow and Hugging Face libraries in this process never to call out."""
        for name, value in OFFLINE_ENV.items():
            os.environ.setdefault(name, value)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, turning a bad value into a one-line ``ConfigError``."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = ENV_PREFIX + "_".join(str(part) for part in first["loc"] if isinstance(part, str)).upper()
    got = first.get("input")
    reason = first["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{name}={got!r} is not valid: {reason}{more}; fix it in the environment or .env"
