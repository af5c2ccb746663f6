"""Training data: Nivesh users from the feature store, point in time, and the splits a fit uses.

Nivesh: one row per user of ``credit_labels`` (``user_id``, ``as_of``, ``default_12m``). Features
come from the offline store's ``user_financial_profile`` through
:meth:`~nivesh_ml.features.offline.OfflineStore.get_training_frame` with ``event_timestamp`` =
the label's ``as_of``: the join takes the latest snapshot at or before that instant, built from
transactions strictly before it, so nothing after the label date reaches a feature. A snapshot
exactly at the label date is built first if the store lacks one. Users are split into train and
test with a fixed seed (stratified by the label); :func:`make_splits` splits train further.

Outcomes collected from ``POST /feedback`` (the labels file ``nivesh-ml labels export`` writes,
:mod:`nivesh_ml.monitoring.labels`) join them when a retrain passes one (:func:`feedback_frame`):
each scored user's newest outcome, with the features the server read when it scored them. They
go to the side of the split their user is on, so the gate scores the champion and the
challenger on the newest outcomes of the test users, and no user is on both sides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import ensure_synthetic, synthetic_dir
from nivesh_ml.data.public import assert_not_test
from nivesh_ml.data.synthetic import GeneratorConfig, read_dataset, read_manifest
from nivesh_ml.errors import DataError
from nivesh_ml.features.builders import SourceFrames, build_view
from nivesh_ml.features.definitions import FeatureView, get_view
from nivesh_ml.features.offline import OfflineStore
from nivesh_ml.log import get_logger
from nivesh_ml.models.credit_risk.config import LABEL, VIEW, CreditRiskConfig, age_band
from nivesh_ml.models.credit_risk.schema import NIVESH_SCHEMA, FeatureSchema
from nivesh_ml.monitoring.quality import binary

__all__ = [
    "CreditData",
    "Part",
    "Splits",
    "feedback_frame",
    "load_nivesh",
    "make_splits",
    "nivesh_frame",
    "training_rows",
]

log = get_logger(__name__)

Regime = Literal["holdout", "cv"]


@dataclass(frozen=True)
class CreditData:
    """A data set ready to fit: features, label and fairness groups; ``test`` only ever scored."""

    name: str  # nivesh, taiwan or german
    schema: FeatureSchema
    label: str
    groups: tuple[str, ...]  # fairness attribute columns (never model inputs)
    train: pd.DataFrame
    test: pd.DataFrame
    source: str  # where the rows came from, for lineage
    source_version: str = ""

    def y(self, frame: pd.DataFrame) -> np.ndarray:
        """The 0/1 label of ``frame``."""
        return np.asarray(frame[self.label].to_numpy(dtype=np.int64))

    def x(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's matrix of ``frame`` (validated against the schema)."""
        return self.schema.encode(self.schema.validate_frame(frame))


@dataclass(frozen=True)
class Part:
    """Rows of the model's matrix and their labels."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Splits:
    """How the training rows are used.

    ``holdout``: ``fit`` trains, ``valid`` early-stops and scores each trial, ``calib`` fits the
    calibration map. ``cv``: ``fit`` holds every training row and ``folds`` the k-fold indices;
    trials are scored by cross-validation and the calibration map is fitted out of fold.
    """

    regime: Regime
    fit: Part
    valid: Part | None = None
    calib: Part | None = None
    folds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


def training_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` if it may be trained on; a DataError if it is (a slice of) a test split."""
    assert_not_test(frame)
    return frame


def make_splits(data: CreditData, config: CreditRiskConfig, seed: int) -> Splits:
    """Split ``data.train`` by the regime its size calls for (see :class:`Splits`)."""
    train = training_rows(data.train)
    x, y = data.x(train), data.y(train)
    if len(train) < config.cv_max_rows:
        folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=seed).split(x, y)
        return Splits("cv", Part(x, y), folds=[(a, b) for a, b in folds])
    rest_share = config.valid_fraction + config.calib_fraction
    index = np.arange(len(y))
    fit, rest = train_test_split(index, test_size=rest_share, random_state=seed, stratify=y)
    valid, calib = train_test_split(
        rest, test_size=config.calib_fraction / rest_share, random_state=seed, stratify=y[rest]
    )
    return Splits("holdout", Part(x[fit], y[fit]), Part(x[valid], y[valid]), Part(x[calib], y[calib]))


# --- Nivesh -----------------------------------------------------------------------------------


def load_nivesh(
    settings: Settings, config: CreditRiskConfig, seed: int, feedback: Path | None = None
) -> CreditData:
    """Nivesh users with point-in-time features, split into train and test by user; with
    ``feedback`` (a labels folder of :func:`~nivesh_ml.monitoring.labels.export_labels`), their
    collected outcomes too, each on its user's side."""
    frame, version = nivesh_frame(settings)
    train, test = train_test_split(
        frame, test_size=config.test_fraction, random_state=seed, stratify=frame[LABEL]
    )
    source = str(synthetic_dir(settings) / "credit_labels.parquet")
    if feedback is not None:
        users = pd.read_parquet(
            synthetic_dir(settings) / "users.parquet", columns=["user_id", "age", "city_tier"]
        )
        outcomes, labels_version = feedback_frame(feedback, users)
        tested = outcomes["user_id"].isin(set(test["user_id"]))
        train = pd.concat([train, outcomes[~tested]], ignore_index=True)
        test = pd.concat([test, outcomes[tested]], ignore_index=True)
        source, version = f"{source} + {feedback}", f"{version}+feedback:{labels_version[:12]}"
        log.info(
            "feedback outcomes joined",
            extra={"rows": len(outcomes), "train": int((~tested).sum()), "test": int(tested.sum())},
        )
    return CreditData(
        name="nivesh",
        schema=NIVESH_SCHEMA,
        label=LABEL,
        groups=("age_band", "city_tier"),
        train=train.reset_index(drop=True),
        test=test.reset_index(drop=True),
        source=source,
        source_version=version,
    )


def feedback_frame(folder: Path, users: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The collected outcomes of a labels folder as training rows (``user_id``, the features the
    server read, ``default_12m``, fairness groups): each user's newest outcome only (a user scored
    every week has one outcome, not one per score). Returns the rows and the labels' version."""
    manifest = json.loads((folder / "manifest.json").read_text())
    labels = pd.read_csv(folder / str(manifest["file"]), dtype={"user_id": str})
    missing = [name for name in (*NIVESH_SCHEMA.names, LABEL, "user_id") if name not in labels.columns]
    if missing:
        raise DataError(f"{folder}: the feedback labels lack {', '.join(missing)}; export them again")
    newest = labels.dropna(subset=["user_id"]).drop_duplicates("user_id", keep="last")  # oldest first
    rows = newest[["user_id", LABEL, *NIVESH_SCHEMA.names]].copy()
    rows[LABEL] = _flags(rows[LABEL])
    rows["has_salary_account"] = _flags(rows["has_salary_account"]).astype(bool)
    return _with_groups(rows.reset_index(drop=True), users), str(manifest["version"])


def _flags(column: pd.Series) -> pd.Series:
    """A 0/1 column written by the CSV export (``True``/``False``, ``1``/``0``); anything else is an
    error that names the column and the value."""
    flags = column.map(lambda value: binary(str(value).strip().removesuffix(".0")))
    bad = column[flags.isna()]
    if len(bad):
        raise DataError(
            f"feedback labels: {column.name} must be true or false, got {bad.iloc[0]!r} "
            f"({len(bad)} rows); fix or drop those rows of the labels file"
        )
    return flags.astype(np.int64)


def nivesh_frame(settings: Settings) -> tuple[pd.DataFrame, str]:
    """Every labelled user: ``user_id``, features, ``default_12m``, ``age_band``, ``city_tier``.

    Generates the synthetic data set first if there is none. Returns the frame and the data
    set's version. Users without a feature row as of their label date are dropped (logged).
    """
    folder = synthetic_dir(settings)
    manifest = read_manifest(folder) or ensure_synthetic(
        settings, GeneratorConfig(users=settings.users, months=settings.months, seed=settings.seed)
    )
    labels = pd.read_parquet(folder / "credit_labels.parquet", columns=["user_id", "as_of", LABEL])
    users = pd.read_parquet(folder / "users.parquet", columns=["user_id", "age", "city_tier"])
    view = get_view(VIEW)
    store = OfflineStore(settings.features_dir)
    _ensure_snapshots(settings, store, view, labels["as_of"].unique(), str(manifest["version"]))
    entity = pd.DataFrame(
        {
            "user_id": labels["user_id"].astype(str).to_numpy(dtype=object),
            "event_timestamp": pd.to_datetime(labels["as_of"]).to_numpy(),
            LABEL: labels[LABEL].astype(np.int64).to_numpy(),
        }
    )
    joined = store.get_training_frame(entity, [view])
    joined = joined.rename(columns={f"{view.name}__{name}": name for name in view.columns})
    return _with_groups(_complete(joined, view), users), str(manifest["version"])


def _ensure_snapshots(
    settings: Settings, store: OfflineStore, view: FeatureView, stamps: np.ndarray, version: str
) -> None:
    """Build the view as of each label date unless a snapshot of this data set is already there."""
    wanted = [pd.Timestamp(stamp) for stamp in stamps]
    stale = [
        stamp for stamp in wanted if (store.snapshot_meta(view, stamp) or {}).get("source_version") != version
    ]
    if not stale:
        return
    sources = SourceFrames.from_synthetic(read_dataset(synthetic_dir(settings)))
    for stamp in stale:
        log.info(
            "building feature snapshot at the label date", extra={"view": view.name, "as_of": str(stamp)}
        )
        store.write_snapshot(view, build_view(view, sources, stamp), source_version=version)


def _complete(joined: pd.DataFrame, view: FeatureView) -> pd.DataFrame:
    """Rows whose required features are present (a user with no snapshot row has none)."""
    required = [spec.name for spec in NIVESH_SCHEMA.features if not spec.nullable]
    complete = joined[required].notna().all(axis=1)
    if not complete.all():
        log.warning(
            "users without features as of their label date dropped", extra={"users": int((~complete).sum())}
        )
    if not complete.any():
        raise DataError(f"no labelled user has {view.key} features as of the label date")
    kept = joined.loc[complete, ["user_id", LABEL, *view.columns]].copy()
    kept["has_salary_account"] = kept["has_salary_account"].astype(bool)
    return kept


def _with_groups(frame: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    groups = users.assign(user_id=users["user_id"].astype(str)).set_index("user_id")
    ages = frame["user_id"].map(groups["age"])
    frame["age_band"] = ages.map(lambda age: age_band(float(age)) if pd.notna(age) else "unknown")
    frame["city_tier"] = (
        frame["user_id"]
        .map(groups["city_tier"])
        .map(lambda tier: f"tier_{int(tier)}" if pd.notna(tier) else "unknown")
    )
    return frame.reset_index(drop=True)
