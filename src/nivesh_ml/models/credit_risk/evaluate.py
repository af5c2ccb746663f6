"""Evaluate a registered credit-risk model on a labelled file.

``nivesh-ml evaluate credit-risk --data FILE [--alias champion] [--json]``. The file (CSV, or
Parquet by its suffix) holds the model's feature columns (the ``user_financial_profile``
features) and the label ``default_12m`` (0/1 or true/false); or just ``user_id`` and
``default_12m``, in which case each user's features are read from the online store. Optional
``age_band`` (or ``age``) and ``city_tier`` columns add the fairness gaps.

Metrics: ``auc`` with ``auc_ci_low``/``auc_ci_high`` (bootstrap, 1,000 resamples, seeded),
``ks``, ``brier``, ``rows``, ``default_rate``, and per fairness attribute the demographic-parity
and equalised-odds differences with the verdict against the limits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.errors import DataError, DatasetMissingError, SchemaError
from nivesh_ml.features.definitions import get_view
from nivesh_ml.features.online import make_online_store
from nivesh_ml.models.credit_risk.config import LABEL, MODEL_KEY, FairnessLimits, age_band
from nivesh_ml.models.credit_risk.fairness import assess_fairness
from nivesh_ml.models.credit_risk.metrics import summary
from nivesh_ml.models.credit_risk.model import CreditRiskModel, load_credit_model

__all__ = ["evaluate", "read_labelled"]

_SEED = 42


def evaluate(settings: Settings, data: Path, alias: str = "champion") -> dict[str, Any]:
    """Metrics of the model under ``alias`` on the labelled file ``data`` (see the module docstring)."""
    frame = read_labelled(data)
    model = load_credit_model(settings, alias)
    missing = [name for name in model.scorer.schema.names if name not in frame.columns]
    if missing and "user_id" in frame.columns:
        frame = _with_online_features(settings, model, frame)
    y = _labels(frame[LABEL])
    probabilities = model.scorer.probabilities(frame)
    result: dict[str, Any] = {"model": MODEL_KEY, "alias": alias, "version": model.model_version}
    result |= summary(y, probabilities, seed=_SEED)
    groups = _groups(frame)
    if groups:
        report = assess_fairness(
            y,
            probabilities,
            groups,
            threshold=settings.credit_high_risk_threshold,
            limits=FairnessLimits.from_settings(settings),
        )
        result |= report.metrics()
        result["fairness"] = report.to_dict()
    return result


def read_labelled(path: Path) -> pd.DataFrame:
    """The labelled file as a frame (a one-line DataError if it is missing, unreadable or unlabelled)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetMissingError(f"no file at {path}")
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if LABEL not in frame.columns:
        raise SchemaError(
            f"{path.name} has no label column {LABEL!r}; columns: {', '.join(map(str, frame.columns))}"
        )
    return frame


def _labels(column: pd.Series) -> np.ndarray:
    # True == 1 and False == 0 as dict keys, so bools, ints and floats all map through 1 and 0
    known = {1: 1, 0: 0, "true": 1, "false": 0, "1": 1, "0": 0}
    mapped = column.map(lambda value: known.get(value.strip().lower() if isinstance(value, str) else value))
    if mapped.isna().any():
        row = mapped.isna().idxmax()
        raise SchemaError(f"label {LABEL!r} must be 0/1 or true/false: row {row} has {column[row]!r}")
    return np.asarray(mapped.to_numpy(dtype=np.int64))


def _groups(frame: pd.DataFrame) -> dict[str, pd.Series]:
    groups: dict[str, pd.Series] = {}
    if "age_band" in frame.columns:
        groups["age_band"] = frame["age_band"].astype(str)
    elif "age" in frame.columns:
        groups["age_band"] = frame["age"].map(
            lambda age: age_band(float(age)) if pd.notna(age) else "unknown"
        )
    if "city_tier" in frame.columns:
        groups["city_tier"] = frame["city_tier"].astype(str)
    return groups


def _with_online_features(settings: Settings, model: CreditRiskModel, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each user's features read from the online store."""
    if model.scorer.view is None:
        raise SchemaError("this model was not trained on a feature view: the file must hold its features")
    view = get_view(model.scorer.view)
    store = make_online_store(settings)
    try:
        rows = store.get_many(view.key, [str(user) for user in frame["user_id"]], model.scorer.schema.names)
    finally:
        store.close()
    absent = [str(user) for user, row in zip(frame["user_id"], rows, strict=True) if row is None]
    if absent:
        raise DataError(
            f"{len(absent)} user(s) have no fresh {view.key} features online (first: {absent[0]}); "
            "run `nivesh-ml features build` and `nivesh-ml features materialize`"
        )
    features = pd.DataFrame.from_records([row or {} for row in rows], index=frame.index)
    return pd.concat(
        [frame.drop(columns=[c for c in features.columns if c in frame.columns]), features], axis=1
    )
