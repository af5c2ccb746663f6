"""Hyperparameter search: Optuna (TPE, seeded) over XGBoost, every trial a nested MLflow run.

Each trial trains with early stopping (up to ``max_rounds``, stopping after
``early_stopping_rounds`` without a better AUC) and is scored by validation AUC (holdout regime)
or by mean k-fold AUC (cv regime, where each fold's held-out part stops its booster). The
monotone constraints of the schema hold in every trial; the search never relaxes them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import optuna
import pandas as pd
import xgboost as xgb

from nivesh_ml.models.credit_risk.config import CreditRiskConfig
from nivesh_ml.models.credit_risk.data import Splits
from nivesh_ml.models.credit_risk.schema import FeatureSchema
from nivesh_ml.progress import item_progress
from nivesh_ml.tracking.runs import TrainingRun

__all__ = ["Tuned", "base_params", "matrix", "search"]

_EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_ID"


@dataclass(frozen=True)
class Tuned:
    """The best trial: its parameters and rounds, its score, and (holdout) its booster."""

    params: dict[str, Any]
    rounds: int
    score: float
    trials: int
    booster: xgb.Booster | None = None


def base_params(schema: FeatureSchema, seed: int, threads: int) -> dict[str, Any]:
    """What every trial shares: the objective, the monotone constraints, threads and seed."""
    constraints = ",".join(str(value) for value in schema.monotone_constraints)
    return {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "tree_method": "hist",
        "monotone_constraints": f"({constraints})",
        "nthread": threads,
        "seed": seed,
    }


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    """One point of the search space."""
    return {
        "max_depth": trial.suggest_int("max_depth", 2, 6),
        "eta": trial.suggest_float("eta", 0.01, 0.3, log=True),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 30.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
        "lambda": trial.suggest_float("lambda", 1e-3, 30.0, log=True),
        "alpha": trial.suggest_float("alpha", 1e-3, 10.0, log=True),
        "gamma": trial.suggest_float("gamma", 0.0, 2.0),
    }


def matrix(splits_x: Any, y: Any, schema: FeatureSchema, config: CreditRiskConfig) -> xgb.DMatrix:
    """A DMatrix with the schema's encoded column names."""
    return xgb.DMatrix(splits_x, label=y, feature_names=schema.encoded_names, nthread=config.n_jobs)


def search(
    splits: Splits, schema: FeatureSchema, config: CreditRiskConfig, seed: int, run: TrainingRun | None = None
) -> Tuned:
    """Run ``config.trials`` trials; each is logged as a nested run of ``run`` when given."""
    # Small data (the cv regime) on one thread: there OpenMP's hand-offs cost more than a second
    # core saves, and far more when other jobs share the machine.
    base = base_params(schema, seed, 1 if splits.regime == "cv" else config.n_jobs)
    fit = matrix(splits.fit.x, splits.fit.y, schema, config)
    valid = matrix(splits.valid.x, splits.valid.y, schema, config) if splits.valid is not None else None
    best: dict[str, Any] = {"score": float("-inf")}

    def objective(trial: optuna.Trial) -> float:
        params = {**base, **suggest(trial)}
        with _trial_run(run, trial.number):
            if valid is not None:
                booster = _train_holdout(params, fit, valid, config)
                score, rounds = float(booster.best_score), booster.best_iteration + 1
            else:
                score, rounds, booster = *_cross_validate(params, fit, splits, config, seed), None
            if run is not None:
                run.log_params(params)
                run.log_metrics({"auc": score, "rounds": rounds})
        if score > best["score"]:
            best.update(score=score, params=params, rounds=rounds, booster=booster)
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    progress = item_progress("credit-risk: hyperparameter search", total=config.trials)
    with _children_beside(run), progress as advance:
        study.optimize(objective, n_trials=config.trials, callbacks=[lambda *_: advance(1)])
    return Tuned(best["params"], int(best["rounds"]), float(best["score"]), config.trials, best["booster"])


@contextmanager
def _children_beside(run: TrainingRun | None) -> Iterator[None]:
    """Nested runs in the parent's experiment for the search, MLflow's default put back after.

    ``TrainingRun.child`` starts its run in MLflow's current experiment, which is ``Default``
    unless the process set one; ``MLFLOW_EXPERIMENT_ID`` points it at the parent's meanwhile.
    """
    previous = os.environ.get(_EXPERIMENT_ENV)
    if run is not None:
        os.environ[_EXPERIMENT_ENV] = str(run.run.info.experiment_id)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_EXPERIMENT_ENV, None)
        else:
            os.environ[_EXPERIMENT_ENV] = previous


@contextmanager
def _trial_run(run: TrainingRun | None, number: int) -> Iterator[None]:
    with run.child(f"trial-{number:03d}") if run is not None else nullcontext():
        yield


def _train_holdout(
    params: dict[str, Any], fit: xgb.DMatrix, valid: xgb.DMatrix, config: CreditRiskConfig
) -> xgb.Booster:
    return xgb.train(
        params,
        fit,
        num_boost_round=config.max_rounds,
        evals=[(valid, "valid")],
        early_stopping_rounds=config.early_stopping_rounds,
        verbose_eval=False,
    )


def _cross_validate(
    params: dict[str, Any], data: xgb.DMatrix, splits: Splits, config: CreditRiskConfig, seed: int
) -> tuple[float, int]:
    history = xgb.cv(
        params,
        data,
        num_boost_round=config.max_rounds,
        folds=splits.folds,
        early_stopping_rounds=config.early_stopping_rounds,
        seed=seed,
        verbose_eval=False,
    )
    scores = pd.DataFrame(history)["test-auc-mean"]
    return float(scores.iloc[-1]), len(scores)
