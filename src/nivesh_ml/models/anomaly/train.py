"""Train the anomaly detector: features -> Isolation Forest -> calibrated threshold -> test -> gate.

``nivesh`` (default): the synthetic data set (``--quick``: 300 users over 8 months, generated in
memory), split by whole months into warm-up (history only), train, calibration and test. The
forest is fitted unsupervised on training months; the threshold is calibrated on the
calibration months' normal debits to the target false-positive rate; the labelled test months
give the metrics the gate reads (``recall``). ``birmingham``: unsupervised on the Birmingham
purchase cards, logging the 20 highest-scoring debits with their reasons; nothing registered.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.ensemble import IsolationForest

from nivesh_ml.config import Settings
from nivesh_ml.data.public import load_birmingham
from nivesh_ml.data.synthetic import GeneratorConfig
from nivesh_ml.errors import ModelNotFoundError, NiveshError
from nivesh_ml.features.builders import SourceFrames
from nivesh_ml.features.definitions import get_view
from nivesh_ml.models.anomaly.config import (
    AnomalyConfig,
    birmingham_config,
    fast_config,
    nivesh_config,
    quick_config,
)
from nivesh_ml.models.anomaly.detector import Detector, calibrate_threshold, detection_metrics
from nivesh_ml.models.anomaly.features import FEATURES
from nivesh_ml.models.anomaly.forest import CompiledForest
from nivesh_ml.models.anomaly.history import FeatureSet, build_feature_set, debits_of, fit_priors, month_index
from nivesh_ml.models.anomaly.model import ARTIFACT, AnomalyDetector
from nivesh_ml.models.anomaly.report import flagged_table, markdown_table, reason_examples
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.models.pyfunc import unwrap
from nivesh_ml.models.transactions import (
    BIRMINGHAM_MONTHS,
    backfilled_sources,
    birmingham_folder,
    birmingham_transactions,
    nivesh_data,
    sources_from_transactions,
)
from nivesh_ml.monitoring.drift_space import reference_frame, reference_sample
from nivesh_ml.tracking.loading import load_model
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import TrainingRun, pip_requirements, start_training_run

__all__ = ["ANOMALY_REFERENCE_ROWS", "QUICK_DATA", "fit_detector", "split_features", "train"]

MODEL = "anomaly"
QUICK_DATA = GeneratorConfig(users=300, months=8)
# Test debits the drift reference is made of: enough that each part of the month (the turn, the
# middle; monitoring.drift.same_season) holds a few hundred.
ANOMALY_REFERENCE_ROWS = (
    1_000  # at most 1,000: Evidently then tests (K-S, chi-square) rather than measures distances
)
_TOP = 20


def train(settings: Settings, options: TrainOptions) -> TrainReport:
    """Fit, calibrate, test and (for the Nivesh data) register the anomaly detector."""
    if options.dataset == "birmingham":
        return _train_birmingham(settings, options)
    if options.dataset != "nivesh":
        raise NiveshError(f"anomaly trains on nivesh or birmingham, not {options.dataset!r}")
    full = fast_config(options.seed) if options.fast else nivesh_config(options.seed)
    config = quick_config(options.seed) if options.quick else full
    data, source_path = nivesh_data(settings, options, QUICK_DATA)
    users, accounts, transactions = _sample_users(data.users, data.accounts, data.transactions, config)
    sources = backfilled_sources(users, accounts, transactions)
    with start_training_run(settings, MODEL, run_name="quick" if options.quick else "nivesh") as run:
        run.log_params(config.to_json())
        started = time.perf_counter()
        features, parts = split_features(sources, config)
        seconds = {"feature_seconds": time.perf_counter() - started}
        detector, fit_seconds = fit_detector(
            features.rows(parts["train"]), features.rows(parts["calibration"]), config
        )
        test = features.rows(parts["test"])
        metrics = {**_test_metrics(detector, test), **seconds, "fit_seconds": fit_seconds}
        data_hash = _log_run(run, features, parts, test, detector, metrics, source_path)
        _log_reference(run, detector, test, debits_of(sources.transactions))
        if not options.register:
            return TrainReport(MODEL, run.run_id, metrics, extra={"dataset": "nivesh"})
        version = _register(run, detector, test, metrics)
        decision = apply_gate(settings, MODEL, version, metrics, data_hash, _champion_metrics(settings, test))
    return TrainReport(
        MODEL, run.run_id, metrics, version, decision.outcome, decision.reason, {"dataset": "nivesh"}
    )


def _sample_users(
    users: pd.DataFrame, accounts: pd.DataFrame, transactions: pd.DataFrame, config: AnomalyConfig
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three frames restricted to a seeded sample of ``config.max_users`` users (all if None)."""
    if config.max_users is None or len(users) <= config.max_users:
        return users, accounts, transactions
    keep = users["user_id"].sample(n=config.max_users, random_state=config.seed)
    return (
        users[users["user_id"].isin(keep)],
        accounts[accounts["user_id"].isin(keep)],
        transactions[transactions["user_id"].isin(keep)],
    )


def split_features(sources: SourceFrames, config: AnomalyConfig) -> tuple[FeatureSet, dict[str, np.ndarray]]:
    """Features of every debit after the warm-up, and the masks of the train/calibration/test months."""
    transactions = sources.transactions
    start = transactions["timestamp"].min().to_period("M").to_timestamp()
    n_months = int(month_index(pd.Series([transactions["timestamp"].max()]), start)[0]) + 1
    first_test = n_months - config.test_months
    first_calibration = first_test - config.calibration_months
    if first_calibration <= config.warmup_months:
        raise NiveshError(
            f"{n_months} months of data cannot hold the warm-up, train, calibration and test months"
        )
    first = start + pd.DateOffset(months=config.warmup_months)
    debits = debits_of(transactions)
    month = month_index(debits["timestamp"], start)
    train_debits = debits[(month >= config.warmup_months) & (month < first_calibration)]
    priors = fit_priors(train_debits, int(transactions["user_id"].nunique()))
    features = build_feature_set(sources, pd.Timestamp(first), priors, config)
    month = month_index(features.meta["timestamp"], start)
    parts = {
        "train": month < first_calibration,
        "calibration": (month >= first_calibration) & (month < first_test),
        "test": month >= first_test,
    }
    return features, parts


def fit_detector(train: FeatureSet, calibration: FeatureSet, config: AnomalyConfig) -> tuple[Detector, float]:
    """Fit the forest on (a sample of) ``train``; set the threshold on ``calibration``'s normal debits."""
    started = time.perf_counter()
    rows = train.matrix
    if rows.shape[0] > config.train_sample:
        pick = np.random.default_rng(config.seed).choice(rows.shape[0], config.train_sample, replace=False)
        rows = rows[np.sort(pick)]
    forest = IsolationForest(
        n_estimators=config.n_estimators,
        max_samples=min(config.max_samples, rows.shape[0]),
        max_features=config.max_features,
        random_state=config.seed,
        n_jobs=config.n_jobs,
    ).fit(rows)
    compiled = CompiledForest.from_sklearn(forest)
    reference = dict(zip(FEATURES, np.median(rows, axis=0).tolist(), strict=True))
    priors = replace(train.priors, reference=reference)
    normal = calibration.matrix[~_labels(calibration)]
    threshold = calibrate_threshold(compiled.score(normal), config.target_fpr)
    return Detector(config, compiled, priors, threshold), time.perf_counter() - started


def _labels(features: FeatureSet) -> np.ndarray:
    if "is_anomaly" not in features.meta.columns:
        return np.zeros(len(features.meta), dtype=bool)
    return np.asarray(features.meta["is_anomaly"].to_numpy(dtype=bool))


def _test_metrics(detector: Detector, test: FeatureSet) -> dict[str, float]:
    raw = detector.forest.score(test.matrix)
    kinds = test.meta["anomaly_type"].astype(str).to_numpy()
    return detection_metrics(raw, detector.flags(raw), _labels(test), kinds)


def _log_run(
    run: TrainingRun,
    features: FeatureSet,
    parts: dict[str, np.ndarray],
    test: FeatureSet,
    detector: Detector,
    metrics: dict[str, float],
    source: str,
) -> str:
    """Log the data sets (feature frames), metrics and a reading of the reasons; the test set's hash."""
    train_frame = _frame(features.rows(parts["train"]))
    run.log_dataset(train_frame, name="nivesh-anomaly-train", role="training", source=source)
    run.log_dataset(
        _frame(features.rows(parts["calibration"])),
        name="nivesh-anomaly-calibration",
        role="validation",
        source=source,
    )
    test_hash = run.log_dataset(_frame(test), name="nivesh-anomaly-test", role="evaluation", source=source)
    run.log_params(
        {"threshold_raw": detector.threshold, "train_rows": len(train_frame), "test_rows": len(test.meta)}
    )
    run.log_metrics(metrics)
    raw = detector.forest.score(test.matrix)
    examples = reason_examples(detector, test, raw)
    run.log_dict({"examples": examples}, "reason_examples.json")
    run.log_text(markdown_table(examples), "reason_examples.md")
    return test_hash


def _frame(features: FeatureSet) -> pd.DataFrame:
    """Identifying columns, labels and features: what a data set of this run holds."""
    keep = [c for c in ("txn_id", "user_id", "timestamp", "is_anomaly") if c in features.meta.columns]
    frame = features.meta[keep].copy()
    frame["anomaly_type"] = (
        features.meta["anomaly_type"].astype(str) if "anomaly_type" in features.meta else ""
    )
    for j, name in enumerate(FEATURES):
        frame[name] = features.matrix[:, j]
    return frame


def _log_reference(run: TrainingRun, detector: Detector, test: FeatureSet, debits: pd.DataFrame) -> None:
    """The drift reference: a sample of test debits as the server logs them (with the user's
    transaction_stats row and their debits of the day before as context) and the detector's answers."""
    known = np.flatnonzero(test.stats_row >= 0)  # the server answers 404 for a user with no stats row
    picked = known[reference_sample(len(known), size=ANOMALY_REFERENCE_ROWS)]
    raw = detector.forest.score(test.matrix[picked])
    answers = [
        {"is_anomaly": bool(flag), "score": round(float(score), 4)}
        for flag, score in zip(detector.flags(raw), detector.scale(raw), strict=True)
    ]
    contexts = _days_before(debits, test.meta.iloc[picked])
    requests = [_request(test, int(i), context) for i, context in zip(picked, contexts, strict=True)]
    run.log_reference(reference_frame(MODEL, zip(requests, answers, strict=True)))


def _request(test: FeatureSet, i: int, context: list[dict[str, Any]]) -> dict[str, Any]:
    """Test debit ``i`` as a ``POST /predict/anomaly`` body, with the features the server adds."""
    meta = test.meta.iloc[i]
    table = test.tables[test.snapshot[i]]
    stats = {name: float(values[test.stats_row[i]]) for name, values in table.numeric.items()}
    transaction: dict[str, Any] = {
        name: str(meta[name]) for name in ("user_id", "merchant", "category", "channel")
    }
    transaction |= {"amount": float(meta["amount"]), "timestamp": meta["timestamp"].isoformat()}
    view = str(get_view("transaction_stats").key)
    return {"transaction": transaction, "context": context, "features": {view: stats}}


def _days_before(debits: pd.DataFrame, scored: pd.DataFrame) -> list[list[dict[str, Any]]]:
    """For each scored debit, its user's debits of the 24 hours before it (what a caller sends)."""
    by_user = dict(list(debits.groupby("user_id", observed=True, sort=False)))
    contexts = []
    for user, when in zip(scored["user_id"], scored["timestamp"], strict=True):
        theirs = by_user[user]
        day = theirs[(theirs["timestamp"] >= when - pd.Timedelta(hours=24)) & (theirs["timestamp"] < when)]
        rows = day[["amount", "merchant", "timestamp"]].itertuples(index=False)
        contexts.append(
            [{"amount": float(a), "merchant": str(m), "timestamp": t.isoformat()} for a, m, t in rows]
        )
    return contexts


def _register(run: TrainingRun, detector: Detector, test: FeatureSet, metrics: dict[str, float]) -> str:
    model = AnomalyDetector(detector)
    example = test.meta[["user_id", "amount", "merchant", "category", "timestamp", "channel"]].head(3).copy()
    example["timestamp"] = example["timestamp"].astype(str)
    example["merchant"] = example["merchant"].astype(str)
    example["category"] = example["category"].astype(str)
    example["channel"] = example["channel"].astype(str)
    example["user_id"] = example["user_id"].astype(str)
    output = model.predict(None, example)
    output["reasons"] = output["reasons"].map("; ".join)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "detector"
        detector.save(folder)
        version = run.log_model(
            AnomalyDetector(),
            signature=infer_signature(example, output),
            input_example=example,
            artifacts={ARTIFACT: str(folder)},
            requirements=pip_requirements("scikit-learn"),
            framework="sklearn-isolation-forest",
            metrics=metrics,
        )
    return version.version


def _champion_metrics(settings: Settings, test: FeatureSet) -> dict[str, float] | None:
    """The champion's test metrics on the same test debits (its own forest and threshold)."""
    try:
        champion = unwrap(load_model(settings, MODEL, "champion"), AnomalyDetector)
    except ModelNotFoundError:  # none, or another kind of model under the name
        return None
    if champion.detector.features != FEATURES:
        return None  # another feature set: not comparable on these rows
    return _test_metrics(champion.detector, test)


def _train_birmingham(settings: Settings, options: TrainOptions) -> TrainReport:
    """Unsupervised on the Birmingham purchase cards: the top 20 flagged debits with their reasons."""
    folder = birmingham_folder(settings, options)
    transactions = birmingham_transactions(load_birmingham(folder.parent))
    config = birmingham_config(options.seed)
    sources = sources_from_transactions(transactions)
    first = BIRMINGHAM_MONTHS[0] + pd.DateOffset(months=config.warmup_months)
    debits = debits_of(transactions)
    scored_debits = debits[debits["timestamp"] >= first]
    priors = fit_priors(scored_debits, int(transactions["user_id"].nunique()))
    with start_training_run(
        settings, MODEL, run_name="birmingham", tags={"nivesh.benchmark": "birmingham"}
    ) as run:
        run.log_params(config.to_json())
        started = time.perf_counter()
        features = build_feature_set(sources, pd.Timestamp(first), priors, config, title="birmingham")
        detector, fit_seconds = fit_detector(features, features, config)
        raw = detector.forest.score(features.matrix)
        top = flagged_table(detector, features, raw, _TOP)
        metrics = {
            "transactions": float(len(features.meta)),
            "flag_rate": float(detector.flags(raw).mean()),
            "seconds": time.perf_counter() - started,
            "fit_seconds": fit_seconds,
        }
        run.log_dataset(
            _frame(features),
            name="birmingham-anomaly",
            role="training",
            source=str(folder),
            data_source="birmingham",
        )
        run.log_metrics(metrics)
        run.log_dict({"top": top}, "top_flagged.json")
        run.log_text(markdown_table(top), "top_flagged.md")
    return TrainReport(MODEL, run.run_id, metrics, extra={"dataset": "birmingham", "top": top})
