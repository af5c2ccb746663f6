"""Train the intent model: data -> fine-tune -> threshold -> test -> ONNX int8 -> log -> gate.

``nivesh-ml train intent [--quick] [--dataset nivesh|banking77] [--data-dir D]``:

1. data: the committed Nivesh splits (``data/intents``), or BANKING77's train.csv less a 10%
   validation hold-out, with its test.csv for the reported figure;
2. fine-tune all-MiniLM-L6-v2 (or ``IntentConfig.base_model``) with a classification head,
   loss per step and validation accuracy per epoch logged, best epoch kept (:mod:`.finetune`);
3. Nivesh: the out-of-scope threshold with the best validation accuracy at >= 95% OOS recall;
4. export ONNX fp32 and dynamic int8 (:mod:`.export`); the test metrics are the int8 model's,
   with its agreement with the torch model beside them;
5. log the confusion matrix, the classification report and the data sets' hashes; Nivesh only:
   register the pyfunc (:class:`.model.IntentModel`) and gate it against the champion scored on
   the same test frame. BANKING77 is a benchmark: a run, no registration.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import infer_signature

from nivesh_ml.config import Settings
from nivesh_ml.data.public import assert_not_test
from nivesh_ml.errors import ModelNotFoundError, NiveshError
from nivesh_ml.log import get_logger
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.models.intent.config import DATA_DIR, LABELS, MODEL_KEY, OUT_OF_SCOPE, IntentConfig, config_for
from nivesh_ml.models.intent.data import Splits, load_banking77_splits, load_nivesh_splits, subsample
from nivesh_ml.models.intent.evaluate import (
    calibrate_threshold,
    classification_metrics,
    confusion_figure,
    predict_intents,
    report_markdown,
    with_fallback,
)
from nivesh_ml.models.intent.export import Bundle, export_bundle
from nivesh_ml.models.intent.finetune import EpochResult, FineTuned, fine_tune, predict_proba
from nivesh_ml.models.intent.model import IntentClassifier, IntentModel, LabelSpec, decide
from nivesh_ml.monitoring.drift_space import reference_frame, reference_sample
from nivesh_ml.tracking.loading import load_model
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import DatasetRole, TrainingRun, pip_requirements, start_training_run

__all__ = ["DATASETS", "bundle_folder", "train"]

log = get_logger(__name__)

DATASETS = ("nivesh", "banking77")


def train(settings: Settings, options: TrainOptions, *, config: IntentConfig | None = None) -> TrainReport:
    """Train the intent model on ``options.dataset``; register and gate it on Nivesh data."""
    settings.export_offline_env()
    if options.dataset not in DATASETS:
        raise NiveshError(f"intent trains on {' or '.join(DATASETS)}, not {options.dataset!r}")
    recipe = config or config_for(settings)
    if options.dataset == "banking77" and config is None:
        recipe = recipe.banking77()
    if options.quick:
        recipe = recipe.quick()
    if options.dataset == "banking77":
        return _train_banking77(settings, options, recipe)
    return _train_nivesh(settings, options, recipe)


def _train_nivesh(settings: Settings, options: TrainOptions, config: IntentConfig) -> TrainReport:
    splits = load_nivesh_splits(options.data_dir or DATA_DIR, LABELS)
    splits = _maybe_subsample(splits, config, options.seed)
    run_name = f"nivesh{'-quick' if options.quick else ''}"
    with start_training_run(
        settings, MODEL_KEY, run_name=run_name, tags={"nivesh.intent.dataset": "nivesh"}
    ) as run:
        run.log_params({**config.params(), "dataset": "nivesh", "quick": options.quick, "seed": options.seed})
        hashes = _log_datasets(run, splits, "nivesh")
        fitted = _fit(run, config, splits, options.seed)
        val_probs = predict_proba(
            fitted.model, fitted.tokenizer, list(splits.validation["text"]), config.max_len
        )
        threshold = calibrate_threshold(
            val_probs, list(splits.validation["intent"]), LABELS, min_oos_recall=config.oos_min_recall
        )
        spec = LabelSpec(LABELS, threshold.value, config.max_len, OUT_OF_SCOPE, config.top_k)
        bundle = export_bundle(fitted, bundle_folder(settings, run.run_id), spec)
        metrics, predicted, probs = _test_metrics(fitted, bundle, spec, splits.test, config)
        metrics.update(
            threshold=threshold.value, val_accuracy=threshold.accuracy, val_oos_recall=threshold.oos_recall
        )
        _log_reference(run, splits.test, probs, spec)
        _log_results(run, "Nivesh intents: test split (ONNX int8)", metrics, splits.test, predicted, LABELS)
        report = TrainReport(MODEL_KEY, run.run_id, _flat(metrics), extra=_extra(metrics, fitted, bundle))
        if not options.register:
            return report
        return _register(settings, run, report, bundle, splits.test, hashes["evaluation"], config)


def _train_banking77(settings: Settings, options: TrainOptions, config: IntentConfig) -> TrainReport:
    data_dir = options.data_dir or settings.datasets_dir / "banking77"
    splits = load_banking77_splits(data_dir, seed=options.seed)
    splits = _maybe_subsample(splits, config, options.seed, test_too=True)
    run_name = f"banking77{'-quick' if options.quick else ''}"
    tags = {"nivesh.intent.dataset": "banking77", "nivesh.benchmark": "true"}
    with start_training_run(settings, MODEL_KEY, run_name=run_name, tags=tags) as run:
        run.log_params(
            {**config.params(), "dataset": "banking77", "quick": options.quick, "seed": options.seed}
        )
        _log_datasets(run, splits, "banking77")
        fitted = _fit(run, config, splits, options.seed)
        spec = LabelSpec(splits.labels, 0.0, config.max_len, None, config.top_k)
        bundle = export_bundle(fitted, bundle_folder(settings, run.run_id), spec)
        metrics, predicted, _ = _test_metrics(fitted, bundle, spec, splits.test, config)
        _log_results(run, "BANKING77: test.csv (ONNX int8)", metrics, splits.test, predicted, splits.labels)
    log.info("banking77 benchmark", extra={"accuracy": metrics["accuracy"], "seconds": fitted.seconds})
    return TrainReport(MODEL_KEY, run.run_id, _flat(metrics), extra=_extra(metrics, fitted, bundle))


def _maybe_subsample(splits: Splits, config: IntentConfig, seed: int, *, test_too: bool = False) -> Splits:
    """Quick runs: a few rows per label (BANKING77's 3,080 test rows too, which dominate its time)."""
    if config.rows_per_label is None:
        return splits
    rows = config.rows_per_label
    train = subsample(splits.train, rows, seed)
    validation = subsample(splits.validation, max(2, rows // 2), seed)
    test = subsample(splits.test, rows, seed) if test_too else splits.test
    return replace(splits, train=train, validation=validation, test=test)


def _log_datasets(run: TrainingRun, splits: Splits, source: str) -> dict[str, str]:
    """Register the three frames (content hashes) with the run; the test frame is the evaluation."""
    assert_not_test(splits.train)
    assert_not_test(splits.validation)

    def log(frame: pd.DataFrame, split: str, role: DatasetRole) -> str:
        name, path = f"{source}-intents-{split}", splits.sources[split]
        return run.log_dataset(frame, name=name, role=role, source=path, data_source=source)

    hashes = {
        "training": log(splits.train, "train", "training"),
        "validation": log(splits.validation, "validation", "validation"),
        "evaluation": log(splits.test, "test", "evaluation"),
    }
    return hashes


def _fit(run: TrainingRun, config: IntentConfig, splits: Splits, seed: int) -> FineTuned:
    """Fine-tune with the loss logged per step and validation accuracy per epoch."""

    def on_step(step: int, loss: float) -> None:
        run.log_metrics({"train_loss": loss}, step=step)

    def on_epoch(result: EpochResult) -> None:
        run.log_metrics(
            {"epoch_val_accuracy": result.val_accuracy, "epoch_train_loss": result.train_loss},
            step=result.epoch,
        )

    cpu_started = time.process_time()
    fitted = fine_tune(
        config, splits.train, splits.validation, splits.labels, seed=seed, on_step=on_step, on_epoch=on_epoch
    )
    cpu_seconds = time.process_time() - cpu_started
    run.log_metrics(
        {"train_seconds": fitted.seconds, "train_cpu_seconds": cpu_seconds, "best_epoch": fitted.best_epoch}
    )
    log.info("fine-tuned", extra={"seconds": round(fitted.seconds, 1), "best_epoch": fitted.best_epoch})
    return fitted


def _test_metrics(
    fitted: FineTuned, bundle: Bundle, spec: LabelSpec, test: pd.DataFrame, config: IntentConfig
) -> tuple[dict[str, Any], list[str], np.ndarray]:
    """The served int8 model's test metrics (plus the torch model's and their agreement), its
    decisions and its probabilities."""
    texts, truth = list(test["text"]), list(test["intent"])
    classifier = IntentClassifier(bundle.path("onnx"), bundle.path("tokenizer"), bundle.path("labels"))
    int8_probs = classifier.probabilities(texts)
    torch_probs = predict_proba(fitted.model, fitted.tokenizer, texts, config.max_len)
    served = with_fallback(int8_probs, spec.labels, spec.threshold, spec.out_of_scope)
    reference = with_fallback(torch_probs, spec.labels, spec.threshold, spec.out_of_scope)
    metrics = classification_metrics(truth, served, spec.out_of_scope)
    metrics.update(
        accuracy_torch=float(np.mean(np.asarray(reference) == np.asarray(truth))),
        onnx_agreement=float(np.mean(np.asarray(reference) == np.asarray(served))),
        onnx_argmax_agreement=float(np.mean(int8_probs.argmax(axis=1) == torch_probs.argmax(axis=1))),
        train_seconds=fitted.seconds,
        best_epoch=float(fitted.best_epoch),
        epochs_run=float(len(fitted.history)),
    )
    return metrics, served, int8_probs


def _log_reference(run: TrainingRun, test: pd.DataFrame, probs: np.ndarray, spec: LabelSpec) -> None:
    """The drift reference: test queries and the served model's answers to them (``decide``, as served)."""
    rows = reference_sample(len(test))
    served = (({"query": test["text"].iloc[i]}, decide(probs[i], spec)) for i in rows)
    run.log_reference(reference_frame(MODEL_KEY, served))


def _log_results(
    run: TrainingRun,
    title: str,
    metrics: dict[str, Any],
    test: pd.DataFrame,
    predicted: list[str],
    labels: tuple[str, ...],
) -> None:
    truth = list(test["intent"])
    run.log_metrics(_flat(metrics))
    per_intent = {
        f"{_metric_name(label)}.{name}": float(row[name])
        for label, row in metrics["per_intent"].items()
        for name in ("precision", "recall", "f1")
    }
    run.log_metrics(per_intent)
    run.log_dict(metrics, "evaluation/metrics.json")
    run.log_text(report_markdown(title, metrics, truth, predicted), "evaluation/classification_report.md")
    run.log_figure(confusion_figure(truth, predicted, labels), "evaluation/confusion_matrix.png")
    mistakes = test.assign(predicted=predicted).loc[lambda frame: frame["intent"] != frame["predicted"]]
    run.log_text(mistakes.to_csv(index=False), "evaluation/mistakes.csv")


def _register(
    settings: Settings,
    run: TrainingRun,
    report: TrainReport,
    bundle: Bundle,
    test: pd.DataFrame,
    eval_hash: str,
    config: IntentConfig,
) -> TrainReport:
    """Register the pyfunc, score the champion on the same test frame, apply the gate."""
    champion = _champion_metrics(settings, test)
    example = pd.DataFrame({"text": ["How much did I spend on Swiggy last month?"]})
    served = IntentModel(threads=config.serve_threads)
    served.classifier = IntentClassifier.from_dir(bundle.folder)
    signature = infer_signature(example, served.predict(None, example))
    served.classifier = None  # the registered object is loaded fresh from its artefacts
    version = run.log_model(
        served,
        signature=signature,
        input_example=example,
        artifacts=bundle.artifacts(),
        requirements=pip_requirements("onnxruntime", "tokenizers"),
        framework="onnx",
        metrics=report.metrics,
    )
    decision = apply_gate(settings, MODEL_KEY, version.version, report.metrics, eval_hash, champion)
    return replace(report, version=version.version, outcome=decision.outcome, reason=decision.reason)


def _champion_metrics(settings: Settings, test: pd.DataFrame) -> dict[str, float] | None:
    """The current champion's metrics on ``test``; None when there is no champion yet."""
    try:
        champion = load_model(settings, MODEL_KEY, "champion")
    except ModelNotFoundError:
        return None
    predicted = predict_intents(champion.pyfunc, list(test["text"]))
    return _flat(classification_metrics(list(test["intent"]), predicted))


def _metric_name(label: str) -> str:
    # MLflow metric names allow letters, digits and _-. :/ only (BANKING77 has "...payment?")
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", label)


def _flat(metrics: dict[str, Any]) -> dict[str, float]:
    return {name: float(value) for name, value in metrics.items() if isinstance(value, int | float)}


def _extra(metrics: dict[str, Any], fitted: FineTuned, bundle: Bundle) -> dict[str, Any]:
    history = [vars(epoch) for epoch in fitted.history]
    return {"per_intent": metrics["per_intent"], "history": history, "bundle": str(bundle.folder)}


def bundle_folder(settings: Settings, run_id: str) -> Path:
    """Where a run's exported bundle lives (``<models_dir>/intent/<run_id>``)."""
    return settings.models_dir / MODEL_KEY / run_id
