"""Train the credit-risk model: data -> search -> calibrate -> assess -> log -> register -> gates.

``nivesh-ml train credit-risk [--quick] [--dataset nivesh|taiwan|german] [--data-dir D]``:

1. data: Nivesh users with point-in-time ``user_financial_profile`` features (:mod:`.data`), or a
   public benchmark's train.csv (:mod:`.benchmarks`);
2. Optuna search over XGBoost with early stopping, each trial a nested run (:mod:`.tuning`);
3. calibration on held-out rows (:mod:`.calibration`), reliability plot logged;
4. test metrics: AUC with a bootstrap 95% interval, KS, Brier; fairness by group (:mod:`.fairness`);
5. Nivesh only: register the pyfunc, tag the version with its fairness gaps; then the
   **fairness gate** (a version that breaks a limit is refused, and the refusal is logged on the
   run and the version) and, only if it passes, the platform's promotion gate against the
   champion scored on the same test users. Benchmarks log a run and register nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.errors import ModelNotFoundError, SchemaError
from nivesh_ml.log import get_logger
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.models.credit_risk.benchmarks import BENCHMARKS, load_benchmark
from nivesh_ml.models.credit_risk.calibration import reliability_figure, reliability_table
from nivesh_ml.models.credit_risk.config import MODEL_KEY, RISK_BANDS, CreditRiskConfig, FairnessLimits
from nivesh_ml.models.credit_risk.data import CreditData, load_nivesh
from nivesh_ml.models.credit_risk.fairness import FairnessReport
from nivesh_ml.models.credit_risk.fitting import Assessment, Fitted, assess, fit
from nivesh_ml.models.credit_risk.metrics import summary
from nivesh_ml.models.credit_risk.model import CreditRiskModel, load_credit_model, signature, typed
from nivesh_ml.tracking.registry import TAG_GATE, apply_gate, record_evaluation
from nivesh_ml.tracking.runs import RegisteredVersion, TrainingRun, pip_requirements, start_training_run
from nivesh_ml.tracking.store import client, registered_name

__all__ = ["TAG_FAIRNESS", "load_data", "train"]

log = get_logger(__name__)

TAG_FAIRNESS = "nivesh.fairness."


def train(
    settings: Settings,
    options: TrainOptions,
    *,
    fairness_limits: FairnessLimits | None = None,
    config: CreditRiskConfig | None = None,
) -> TrainReport:
    """Train, assess and (on Nivesh data) register and gate a credit-risk model."""
    full = CreditRiskConfig.fast() if options.fast else CreditRiskConfig()
    config = config or (CreditRiskConfig.quick() if options.quick else full)
    limits = fairness_limits or FairnessLimits.from_settings(settings)
    data = load_data(settings, options, config)
    run_name = f"{data.name}{'-quick' if options.quick else ''}"
    tags = {"nivesh.credit.dataset": data.name}
    with start_training_run(settings, MODEL_KEY, run_name=run_name, tags=tags) as run:
        hashes = _log_inputs(run, data)
        fitted = fit(data, config, options.seed, run)
        result = assess(
            fitted.scorer,
            data,
            threshold=settings.credit_high_risk_threshold,
            limits=limits,
            resamples=config.bootstrap_resamples,
            seed=options.seed,
        )
        _log_fit(run, data, options, limits, fitted, result)
        report = partial(
            TrainReport, MODEL_KEY, run.run_id, result.metrics, extra=_extra(data, fitted, result)
        )
        if not (options.register and data.name == "nivesh"):
            _log_booster(fitted)
            return report(reason=f"benchmark run on {data.name}: logged, not registered")
        version = _register(run, fitted, data, result.metrics)
        _tag_fairness(settings, version.version, result.fairness)
        if not result.fairness.passed:
            reason = "refused by the fairness gate: " + "; ".join(result.fairness.violations)
            _refuse(settings, version, result.metrics, hashes["evaluation"], reason)
            return report(version=version.version, outcome="rejected", reason=reason)
    champion = _champion_metrics(settings, data, config, options.seed)
    decision = apply_gate(
        settings, MODEL_KEY, version.version, result.metrics, hashes["evaluation"], champion
    )
    return report(version=version.version, outcome=decision.outcome, reason=decision.reason)


def load_data(settings: Settings, options: TrainOptions, config: CreditRiskConfig) -> CreditData:
    """The data set ``options.dataset`` names: nivesh (synthetic users) or a public benchmark."""
    if options.dataset == "nivesh":
        return load_nivesh(settings, config, options.seed, feedback=options.feedback_labels)
    if options.dataset not in BENCHMARKS:
        raise SchemaError(f"credit-risk trains on nivesh, {', '.join(BENCHMARKS)}; got {options.dataset!r}")
    return load_benchmark(options.dataset, options.data_dir or settings.datasets_dir)


# --- logging ----------------------------------------------------------------------------------


def _log_inputs(run: TrainingRun, data: CreditData) -> dict[str, str]:
    """Register the training and test frames (content hashes) as the run's inputs, and a sample of
    the training features as the drift reference (``nivesh-ml drift check credit-risk``)."""
    run.log_reference(data.train[data.schema.names])
    return {
        "training": run.log_dataset(
            data.train,
            name=f"credit-{data.name}-train",
            role="training",
            source=data.source,
            data_source=data.name,
        ),
        "evaluation": run.log_dataset(
            data.test,
            name=f"credit-{data.name}-test",
            role="evaluation",
            source=data.source,
            data_source=data.name,
        ),
    }


def _log_fit(
    run: TrainingRun,
    data: CreditData,
    options: TrainOptions,
    limits: FairnessLimits,
    fitted: Fitted,
    result: Assessment,
) -> None:
    tuned = fitted.tuned
    run.log_params(
        {
            "dataset": data.name,
            "quick": options.quick,
            "seed": options.seed,
            "regime": fitted.regime,
            "trials": tuned.trials,
            "features": len(data.schema),
            "train_rows": len(data.train),
            "test_rows": len(data.test),
            "calibration": fitted.scorer.calibrator.method,
            "calibration_rows": fitted.calibration_rows,
            "decision_threshold": result.fairness.threshold,
            **{f"fairness_{key}": value for key, value in asdict(limits).items()},
            **{f"best_{key}": value for key, value in tuned.params.items()},
            "best_rounds": tuned.rounds,
        }
    )
    cv_brier = {
        f"calibration_cv_brier_{method}": score for method, score in fitted.scorer.calibrator.cv_brier
    }
    run.log_metrics({**result.metrics, **cv_brier, "tuning_auc": tuned.score})
    run.log_dict(result.fairness.to_dict(), "fairness.json")
    run.log_dict(data.schema.to_dict(), "schema.json")
    run.log_dict(_band_table(result), "risk_bands.json")
    tables = {
        "uncalibrated": reliability_table(result.y, result.raw),
        "calibrated": reliability_table(result.y, result.probabilities),
    }
    run.log_dict({name: table.to_dict("records") for name, table in tables.items()}, "reliability.json")
    run.log_figure(reliability_figure(tables, f"credit-risk on {data.name} test"), "reliability.png")


def _log_booster(fitted: Fitted) -> None:
    """The booster and its meta as plain artefacts of an unregistered (benchmark) run."""
    with tempfile.TemporaryDirectory(prefix="nivesh-credit-") as folder:
        fitted.scorer.save(Path(folder))
        mlflow.log_artifacts(folder, artifact_path="booster")


def _band_table(result: Assessment) -> dict[str, Any]:
    frame = pd.DataFrame({"y": result.y, "p": result.probabilities})
    lower = 0.0
    bands: dict[str, Any] = {}
    for name, upper in RISK_BANDS:
        rows = frame[(frame["p"] >= lower) & (frame["p"] < upper if upper < 1 else frame["p"] <= upper)]
        bands[name] = {
            "pd_from": lower,
            "pd_below": upper,
            "rows": len(rows),
            "default_rate": float(rows["y"].mean()) if len(rows) else None,
        }
        lower = upper
    return bands


def _extra(data: CreditData, fitted: Fitted, result: Assessment) -> dict[str, Any]:
    return {
        "dataset": data.name,
        "regime": fitted.regime,
        "trials": fitted.tuned.trials,
        "best_params": fitted.tuned.params,
        "rounds": fitted.tuned.rounds,
        "tuning_auc": fitted.tuned.score,
        "calibration": fitted.scorer.calibrator.method,
        "fairness": result.fairness.to_dict(),
    }


# --- registry ---------------------------------------------------------------------------------


def _register(
    run: TrainingRun, fitted: Fitted, data: CreditData, metrics: dict[str, float]
) -> RegisteredVersion:
    example = typed(data.schema, data.test.head(1))
    with tempfile.TemporaryDirectory(prefix="nivesh-credit-") as folder:
        artifacts = fitted.scorer.save(Path(folder))
        return run.log_model(
            CreditRiskModel(),
            signature=signature(data.schema),
            input_example=example,
            artifacts=artifacts,
            requirements=pip_requirements("xgboost-cpu"),
            framework="xgboost",
            metrics=metrics,
        )


def _tag_fairness(settings: Settings, version: str, report: FairnessReport) -> None:
    """Every gap, the verdict and the violations, as tags of the model version."""
    mlflow_client, name = client(settings), registered_name(MODEL_KEY)
    tags = {key: f"{value:.4f}" for key, value in report.metrics().items()}
    tags |= {"passed": str(report.passed).lower(), "violations": " | ".join(report.violations) or "none"}
    tags["threshold"] = repr(report.threshold)
    for key, value in tags.items():
        mlflow_client.set_model_version_tag(
            name, version, TAG_FAIRNESS + key.removeprefix("fairness_"), value
        )


def _refuse(
    settings: Settings, version: RegisteredVersion, metrics: dict[str, float], dataset_hash: str, reason: str
) -> None:
    """Record the fairness gate's refusal where the promotion gate records its decisions."""
    record_evaluation(settings, MODEL_KEY, version.version, metrics, dataset_hash)
    mlflow_client, name = client(settings), registered_name(MODEL_KEY)
    for key, value in {"outcome": "rejected", "reason": reason}.items():
        mlflow_client.set_model_version_tag(name, version.version, TAG_GATE + key, value)
        mlflow.set_tag(TAG_GATE + key, value)
    log.warning(
        "credit-risk version refused by the fairness gate",
        extra={"version": version.version, "reason": reason},
    )


def _champion_metrics(
    settings: Settings, data: CreditData, config: CreditRiskConfig, seed: int
) -> dict[str, float] | None:
    """The champion's metrics on the same test users; None if there is none or it reads other inputs."""
    try:
        champion = load_credit_model(settings, "champion")
        probabilities = champion.scorer.probabilities(data.test)
    except ModelNotFoundError:
        return None
    except SchemaError as exc:
        log.warning("champion cannot score this data: not compared", extra={"error": str(exc)})
        return None
    return summary(data.y(data.test), probabilities, resamples=config.bootstrap_resamples, seed=seed)
