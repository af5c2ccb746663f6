"""The served credit-risk model: an MLflow pyfunc around a native XGBoost booster and its calibration.

Artefacts (logged with the pyfunc, loaded in :meth:`CreditRiskModel.load_context`):

- ``booster``: ``model.json``, the booster in XGBoost's own JSON format (not a pickle, and not
  ``mlflow.xgboost``, whose skops format MLflow 3.17 refuses for tree models);
- ``meta``: ``meta.json``, the feature schema, the calibration map, the risk bands, the view.

Two ways in: :meth:`CreditRiskModel.predict` (pyfunc; a frame of the schema's columns in, a frame
of ``probability_of_default``, ``risk_band``, ``reasons`` out) and the server's hot path
:meth:`CreditRiskModel.score` (one applicant's features, or a user id looked up in the online
store): ``inplace_predict`` on one row with one thread, then the calibration map, then the
reasons from ``pred_contribs``.

Out-of-range values: features a caller sends are refused naming the feature (a SchemaError, 400
at the server); features read from the store for a ``user_id`` are clipped to the schema's bound,
logged as a warning and listed in the answer's ``clipped_features``, so a stored value outside
the range (a builder's fault, never the user's) does not leave the user unscorable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow.models import ModelSignature
from mlflow.pyfunc.model import PythonModel, PythonModelContext
from mlflow.types import ColSpec, DataType, Schema, TensorSpec
from mlflow.types.schema import Array

from nivesh_ml.config import Settings
from nivesh_ml.errors import SchemaError, TrackingError
from nivesh_ml.features.definitions import get_view
from nivesh_ml.features.lookup import get_user_features
from nivesh_ml.features.online import OnlineStore
from nivesh_ml.log import get_logger
from nivesh_ml.models.credit_risk.calibration import Calibrator
from nivesh_ml.models.credit_risk.config import MODEL_KEY, RISK_BANDS
from nivesh_ml.models.credit_risk.reasons import contributions, reasons_from_contributions
from nivesh_ml.models.credit_risk.schema import Clipped, FeatureSchema, FeatureSpec
from nivesh_ml.tracking.loading import load_model

__all__ = ["CreditRiskModel", "CreditScore", "Scorer", "load_credit_model", "signature", "typed"]

log = get_logger(__name__)

BOOSTER_FILE, META_FILE = "model.json", "meta.json"


@dataclass(frozen=True)
class CreditScore:
    """One applicant's score: what ``POST /predict/credit-risk`` answers."""

    probability_of_default: float
    risk_band: str
    reasons: list[str]
    model_version: str
    clipped_features: list[dict[str, Any]] = field(default_factory=list)  # stored values out of range

    def to_dict(self) -> dict[str, Any]:
        """The response body's fields."""
        return asdict(self)


class Scorer:
    """Booster + schema + calibration: batch and one-row scoring, reasons, saving."""

    def __init__(
        self,
        booster: xgb.Booster,
        schema: FeatureSchema,
        calibrator: Calibrator,
        *,
        max_reasons: int = 4,
        view: str | None = None,
        bands: tuple[tuple[str, float], ...] = RISK_BANDS,
    ) -> None:
        booster.set_param({"nthread": 1})  # one request, one core: the server runs many at once
        self.booster, self.schema, self.calibrator = booster, schema, calibrator
        self.max_reasons, self.view, self.bands = max_reasons, view, bands

    # --- one applicant ------------------------------------------------------------------------

    def score_one(
        self, features: Mapping[str, Any], *, with_reasons: bool = True
    ) -> tuple[float, str, list[str]]:
        """Calibrated PD, band and reasons of one applicant's features (a SchemaError if bad)."""
        row, values = self.schema.validate_row(features)
        raw = float(self.booster.inplace_predict(row)[0])
        probability = self.calibrator.apply_one(raw)
        reasons: list[str] = []
        if with_reasons:
            found = reasons_from_contributions(
                self.schema, contributions(self.booster, row)[0], values, self.max_reasons
            )
            reasons = [reason.text for reason in found]
        return probability, self.band(probability), reasons

    def band(self, probability: float) -> str:
        """The risk band of a calibrated PD."""
        for name, upper in self.bands:
            if probability < upper:
                return name
        return self.bands[-1][0]

    # --- many applicants ----------------------------------------------------------------------

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        """The booster's uncalibrated probabilities of an encoded matrix."""
        return np.asarray(self.booster.inplace_predict(matrix), dtype=np.float64)

    def probabilities(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated PDs of a frame holding the schema's columns."""
        return self.calibrator.apply(self.raw(self.schema.encode(self.schema.validate_frame(frame))))

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``probability_of_default``, ``risk_band`` and ``reasons`` per row of ``frame``."""
        checked = self.schema.validate_frame(frame)
        matrix = self.schema.encode(checked)
        probabilities = self.calibrator.apply(self.raw(matrix))
        pushes = contributions(self.booster, matrix)
        values = checked.to_numpy(dtype=object)
        reasons = [
            [
                r.text
                for r in reasons_from_contributions(self.schema, pushes[i], list(values[i]), self.max_reasons)
            ]
            for i in range(len(checked))
        ]
        return pd.DataFrame(
            {
                "probability_of_default": probabilities,
                "risk_band": [self.band(float(p)) for p in probabilities],
                "reasons": reasons,
            },
            index=frame.index,
        )

    # --- files --------------------------------------------------------------------------------

    def save(self, folder: Path) -> dict[str, str]:
        """Write ``model.json`` and ``meta.json`` into ``folder``; returns the pyfunc's artefacts."""
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / BOOSTER_FILE))
        meta = {
            "schema": self.schema.to_dict(),
            "calibration": self.calibrator.to_dict(),
            "max_reasons": self.max_reasons,
            "view": self.view,
            "risk_bands": [list(band) for band in self.bands],
        }
        (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return {"booster": str(folder / BOOSTER_FILE), "meta": str(folder / META_FILE)}

    @classmethod
    def load(cls, booster_path: Path, meta_path: Path) -> Scorer:
        """The scorer :meth:`save` wrote."""
        booster = xgb.Booster(params={"nthread": 1})
        booster.load_model(str(booster_path))
        meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
        return cls(
            booster,
            FeatureSchema.from_dict(meta["schema"]),
            Calibrator.from_dict(meta["calibration"]),
            max_reasons=int(meta["max_reasons"]),
            view=meta.get("view"),
            bands=tuple((str(name), float(upper)) for name, upper in meta["risk_bands"]),
        )


class CreditRiskModel(PythonModel):
    """The pyfunc the registry serves; see the module docstring."""

    def __init__(self, scorer: Scorer | None = None) -> None:
        self._scorer = scorer  # None when logged: the artefacts are the state, not a pickle
        self.model_version = "unknown"  # the registry's version; set by load_credit_model

    def load_context(self, context: PythonModelContext) -> None:
        """Load the booster (one thread) and the meta from the logged artefacts."""
        self._scorer = Scorer.load(Path(context.artifacts["booster"]), Path(context.artifacts["meta"]))

    @property
    def scorer(self) -> Scorer:
        """The loaded scorer."""
        if self._scorer is None:
            raise TrackingError("credit-risk model used before its artefacts were loaded")
        return self._scorer

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Scores, bands and reasons of a frame of the schema's columns."""
        return self.scorer.predict(pd.DataFrame(model_input))

    def score_one(self, features: Mapping[str, Any], *, with_reasons: bool = True) -> CreditScore:
        """The hot path: one applicant's features -> PD, band, reasons, version."""
        probability, band, reasons = self.scorer.score_one(features, with_reasons=with_reasons)
        return CreditScore(probability, band, reasons, self.model_version)

    def score(
        self,
        features: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        store: OnlineStore | None = None,
        with_reasons: bool = True,
    ) -> CreditScore:
        """Score ``features``, or the online features of ``user_id`` read from ``store`` (clipped)."""
        if (features is None) == (user_id is None):
            raise SchemaError("give either features or a user_id, not both or neither")
        clipped: list[Clipped] = []
        if user_id is not None:
            features, clipped = self.clip_stored(self.user_features(user_id, store), user_id)
        assert features is not None  # nosec B101  # narrows for mypy; checked above
        score = self.score_one(features, with_reasons=with_reasons)
        return replace(score, clipped_features=[item.to_dict() for item in clipped]) if clipped else score

    def serve(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The model server's contract: ``{"features": ...}`` -> PD, band and reasons.

        ``features`` is the user's online features by view (``{"user_financial_profile:v1":
        {...}}``, as the server reads them for a ``user_id``) or the inputs themselves, flat. Bad
        input raises :class:`~nivesh_ml.errors.SchemaError` (a ``DataError``), naming the feature.
        With a ``user_id`` the server read the features from the store: numbers out of range are
        clipped instead and listed in ``clipped_features`` (see the module docstring).
        """
        features = request.get("features")
        if not isinstance(features, Mapping) or not features:
            raise SchemaError("'features' must be an object holding the model's inputs")
        row: Mapping[str, Any] = self._inputs(features)
        clipped: list[Clipped] = []
        user_id = request.get("user_id")
        if user_id is not None:
            row, clipped = self.clip_stored(row, str(user_id))
        score = self.score_one(row)
        answer: dict[str, Any] = {
            "probability_of_default": score.probability_of_default,
            "risk_band": score.risk_band,
            "reasons": score.reasons,
        }
        if clipped:
            answer["clipped_features"] = [item.to_dict() for item in clipped]
        return answer

    def clip_stored(self, row: Mapping[str, Any], user_id: str) -> tuple[dict[str, Any], list[Clipped]]:
        """Stored features with out-of-range numbers clipped to the schema's bounds, logged."""
        checked, clipped = self.scorer.schema.clip_row(row)
        if clipped:
            log.warning(
                "stored features out of range: clipped to the schema's bounds",
                extra={
                    "model": MODEL_KEY,
                    "version": self.model_version,
                    "user_id": user_id,
                    "clipped": [item.to_dict() for item in clipped],
                },
            )
        return checked, clipped

    def _inputs(self, features: Mapping[str, Any]) -> Mapping[str, Any]:
        """The model's own view's row out of features filed by view; flat features as they are."""
        if not all(":v" in str(name) and isinstance(row, Mapping) for name, row in features.items()):
            return features
        wanted = str(get_view(self.scorer.view).key) if self.scorer.view else ""
        row = features.get(wanted)
        if not isinstance(row, Mapping):
            raise SchemaError(
                f"no {wanted or 'feature view'} features for this user; got {', '.join(features)}"
            )
        return row

    def user_features(self, user_id: str, store: OnlineStore | None) -> dict[str, Any]:
        """The model's inputs for ``user_id`` from the online store (FeatureStoreError if absent)."""
        if store is None or self.scorer.view is None:
            raise SchemaError(
                "scoring by user_id needs an online store and a model trained on a feature view"
            )
        view = get_view(self.scorer.view)
        row = get_user_features(store, user_id, [view])[str(view.key)]
        absent = [name for name in self.scorer.schema.names if name not in row]
        if absent:
            raise SchemaError(f"user {user_id!r}: the online row lacks {', '.join(absent)}")
        return {name: row[name] for name in self.scorer.schema.names}


def signature(schema: FeatureSchema) -> ModelSignature:
    """The pyfunc's signature: counts long, flags boolean, categories string, the rest double.

    Features the schema lets be missing are optional columns; the output's ``reasons`` is a list.
    MLflow converts no int to double nor double to int, so callers send each column in its kind
    (:func:`typed` casts a training frame's float counts).
    """
    inputs: list[ColSpec | TensorSpec] = [
        ColSpec(_COLUMN_TYPES[_column_kind(spec)], spec.name, required=not spec.nullable)
        for spec in schema.features
    ]
    outputs: list[ColSpec | TensorSpec] = [
        ColSpec(DataType.double, "probability_of_default"),
        ColSpec(DataType.string, "risk_band"),
        ColSpec(Array(DataType.string), "reasons"),
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def typed(schema: FeatureSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """The schema's columns of ``frame`` in the signature's types (a SchemaError if a value is bad)."""
    checked = schema.validate_frame(frame)
    casts = {spec.name: _PANDAS_TYPES[_column_kind(spec)] for spec in schema.features}
    return checked.astype(casts)


_COLUMN_TYPES = {
    "long": DataType.long,
    "boolean": DataType.boolean,
    "string": DataType.string,
    "double": DataType.double,
}
_PANDAS_TYPES = {"long": "int64", "boolean": "bool", "string": "object", "double": "float64"}


def _column_kind(spec: FeatureSpec) -> str:
    if spec.kind == "count" and not spec.nullable:
        return "long"
    if spec.kind == "flag" and not spec.nullable:
        return "boolean"
    return "string" if spec.kind == "category" else "double"


def load_credit_model(settings: Settings, alias: str = "champion") -> CreditRiskModel:
    """The registered credit-risk model under ``alias``, loaded (cached) and told its version."""
    loaded = load_model(settings, MODEL_KEY, alias)
    model = loaded.pyfunc.unwrap_python_model()  # type: ignore[no-untyped-call]
    if not isinstance(model, CreditRiskModel):
        raise TrackingError(f"{loaded.name} v{loaded.version} is not a credit-risk model")
    model.model_version = loaded.version
    return model
