"""Train the spending forecast: data -> rolling-origin backtest -> final fit -> log -> register -> gate.

``nivesh`` (default): the synthetic data set under ``<home>/data/synthetic`` (``--quick``: 300
users over 17 months, generated in memory). The backtest is the evaluation the promotion gate
reads (``wape``, lower is better); the champion is re-backtested on the same panel when its
configuration differs. ``birmingham``: the same backtest on the Birmingham purchase cards (cards
as users, expense categories as categories), logged as a benchmark run; nothing is registered.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema, TensorSpec

from nivesh_ml.config import Settings
from nivesh_ml.data.public import load_birmingham
from nivesh_ml.data.synthetic import GeneratorConfig, SyntheticData
from nivesh_ml.errors import ModelNotFoundError, NiveshError
from nivesh_ml.features.builders import build_views
from nivesh_ml.features.definitions import get_view
from nivesh_ml.log import get_logger
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.models.pyfunc import unwrap
from nivesh_ml.models.spending.backtest import BacktestResult, run_backtest
from nivesh_ml.models.spending.config import (
    SpendingConfig,
    birmingham_config,
    fast_config,
    nivesh_config,
    quick_config,
)
from nivesh_ml.models.spending.fitting import fit_params
from nivesh_ml.models.spending.forecast import SpendingParams
from nivesh_ml.models.spending.model import ARTIFACT, SpendingForecaster
from nivesh_ml.models.spending.panel import (
    FeatureStoreLevels,
    FrameLevels,
    LevelSource,
    SpendPanel,
    build_panel,
    spend_frame,
)
from nivesh_ml.models.transactions import (
    BIRMINGHAM_MONTHS,
    backfilled_sources,
    birmingham_folder,
    birmingham_transactions,
    nivesh_data,
)
from nivesh_ml.monitoring.drift_space import reference_frame, reference_sample
from nivesh_ml.tracking.loading import load_model
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import TrainingRun, pip_requirements, start_training_run

__all__ = ["QUICK_DATA", "panel_frame", "signature", "train"]

log = get_logger(__name__)

MODEL = "spending"
QUICK_DATA = GeneratorConfig(users=300, months=17)


def train(settings: Settings, options: TrainOptions) -> TrainReport:
    """Backtest, fit and (for the Nivesh data) register the spending forecast."""
    if options.dataset == "birmingham":
        return _train_birmingham(settings, options)
    if options.dataset != "nivesh":
        raise NiveshError(f"spending trains on nivesh or birmingham, not {options.dataset!r}")
    full = fast_config(options.seed) if options.fast else nivesh_config(options.seed)
    config = quick_config(options.seed) if options.quick else full
    data, source_path = nivesh_data(settings, options, QUICK_DATA)
    panel = build_panel(spend_frame(data.transactions, config.categories), config.categories)
    levels = FeatureStoreLevels(
        backfilled_sources(data.users, data.accounts, data.transactions), panel, config.windows_days
    )
    with start_training_run(settings, MODEL, run_name="quick" if options.quick else "nivesh") as run:
        data_hash = _log_inputs(run, config, panel, source_path, "nivesh")
        result = _backtest(run, panel, levels, config)
        forecaster = _final_fit(run, panel, levels, config)
        _log_reference(run, data, panel)
        if not options.register:
            return TrainReport(MODEL, run.run_id, result.metrics, extra={"dataset": "nivesh"})
        version = _register(run, forecaster, result.metrics)
        champion = _champion_metrics(settings, panel, levels, config, result)
        decision = apply_gate(settings, MODEL, version, result.metrics, data_hash, champion)
    return TrainReport(
        MODEL, run.run_id, result.metrics, version, decision.outcome, decision.reason, {"dataset": "nivesh"}
    )


def _log_inputs(
    run: TrainingRun, config: SpendingConfig, panel: SpendPanel, source: str, data_source: str
) -> str:
    """Log the configuration and the monthly panel (training and evaluation data: the backtest)."""
    run.log_params({k: v for k, v in config.to_json().items() if k != "categories"})
    run.log_params({"n_categories": len(panel.categories), "n_entities": panel.entities.size})
    run.log_params({"months": f"{panel.months[0].date()}..{panel.months[-1].date()}"})
    frame = panel_frame(panel)
    name = f"{data_source}-spending-monthly"
    run.log_dataset(frame, name=name, role="training", source=source, data_source=data_source)
    return run.log_dataset(frame, name=name, role="evaluation", source=source, data_source=data_source)


def panel_frame(panel: SpendPanel) -> pd.DataFrame:
    """The panel's non-zero cells as a long frame: entity, category, month, amount."""
    e, c, m = panel.monthly.nonzero()
    return pd.DataFrame(
        {
            "entity": panel.entities[e],
            "category": [panel.categories[i] for i in c],
            "month": panel.months[m],
            "amount": panel.monthly[e, c, m],
        }
    )


def _backtest(
    run: TrainingRun, panel: SpendPanel, levels: LevelSource, config: SpendingConfig
) -> BacktestResult:
    started = time.perf_counter()
    result = run_backtest(panel, levels, config)
    result.metrics["backtest_seconds"] = time.perf_counter() - started
    run.log_metrics(result.metrics)
    run.log_dict({"per_origin": result.per_origin, "per_category": result.per_category}, "backtest.json")
    log.info("spending backtest", extra={k: round(v, 4) for k, v in result.metrics.items()})
    return result


def _final_fit(
    run: TrainingRun, panel: SpendPanel, levels: LevelSource, config: SpendingConfig
) -> SpendingForecaster:
    started = time.perf_counter()
    params = fit_params(panel, levels, len(panel.months), config, title="final fit")
    run.log_metrics({"fit_seconds": time.perf_counter() - started})
    return SpendingForecaster(params)


def _log_reference(run: TrainingRun, data: SyntheticData, panel: SpendPanel) -> None:
    """The drift reference: a sample of users' spending_patterns rows as of the end of the data,
    the rows the server reads online (the forecast's inputs)."""
    users = panel.entities[reference_sample(len(panel.entities))]
    frames = (data.users, data.accounts, data.transactions)
    sources = backfilled_sources(*(frame[frame["user_id"].isin(users)] for frame in frames))
    view = get_view("spending_patterns")
    rows = build_views([view], sources, panel.end)[view.name].to_dict("records")
    unread: dict[str, Any] = {}  # the forecast: its inputs are what drift is checked on
    served = (({"user_id": row["user_id"], "features": {str(view.key): row}}, unread) for row in rows)
    run.log_reference(reference_frame(MODEL, served))


def _register(run: TrainingRun, forecaster: SpendingForecaster, metrics: dict[str, float]) -> str:
    example = _input_example(forecaster)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spending_params.npz"
        forecaster.params.save(path)
        version = run.log_model(
            SpendingForecaster(),
            signature=signature(forecaster.params),
            input_example=example,
            artifacts={ARTIFACT: str(path)},
            requirements=pip_requirements(),
            framework="prophet",
            metrics=metrics,
        )
    return version.version


def signature(params: SpendingParams) -> ModelSignature:
    """Input: ``user_id`` and, optionally, horizon, category, as_of and the spend features."""
    optional = [
        ColSpec("long", "horizon_months", required=False),
        ColSpec("string", "category", required=False),
    ]
    optional.append(ColSpec("string", "as_of", required=False))
    features: list[ColSpec | TensorSpec] = [
        ColSpec("double", f"spend_{cat}_{days}d", required=False)
        for cat in params.categories
        for days in params.config.windows_days
    ]
    outputs: list[ColSpec | TensorSpec] = [
        ColSpec("string", name) for name in ("user_id", "month", "category")
    ]
    outputs += [ColSpec("double", name) for name in ("amount", "lower", "upper")]
    return ModelSignature(
        inputs=Schema([ColSpec("string", "user_id"), *optional, *features]), outputs=Schema(outputs)
    )


def _input_example(forecaster: SpendingForecaster) -> pd.DataFrame:
    """One user with every spend feature set (so the example needs no online store)."""
    params = forecaster.params
    row: dict[str, Any] = {"user_id": "U0000001", "horizon_months": 3}
    for cat in params.categories:
        row.update({f"spend_{cat}_{days}d": 1_000.0 * days / 30 for days in params.config.windows_days})
    return pd.DataFrame([row])


def _champion_metrics(
    settings: Settings, panel: SpendPanel, levels: LevelSource, config: SpendingConfig, result: BacktestResult
) -> dict[str, float] | None:
    """The champion's backtest on the same panel (its own configuration), or None without one."""
    try:
        champion = unwrap(load_model(settings, MODEL, "champion"), SpendingForecaster)
    except ModelNotFoundError:  # none, or another kind of model under the name
        return None
    # The champion's model settings on the candidate's folds, so both are scored on the same cells.
    folds = {name: getattr(config, name) for name in _FOLD_FIELDS}
    champion_config = replace(champion.params.config, **folds)
    if champion_config == config:
        return dict(result.metrics)  # same code and configuration: the same backtest, deterministically
    return run_backtest(panel, levels, champion_config, baselines=False).metrics


_FOLD_FIELDS = ("origins", "origin_step_months", "horizon_months", "min_history_months", "n_jobs", "seed")


def _train_birmingham(settings: Settings, options: TrainOptions) -> TrainReport:
    """The backtest on the Birmingham purchase cards, logged as a benchmark run."""
    folder = birmingham_folder(settings, options)
    transactions = birmingham_transactions(load_birmingham(folder.parent))
    spend = spend_frame(transactions, sorted(transactions["category"].unique()))
    panel = build_panel(spend, window=BIRMINGHAM_MONTHS)
    config = replace(birmingham_config(options.seed), categories=panel.categories)
    levels = FrameLevels(spend, panel, config.windows_days)
    with start_training_run(
        settings, MODEL, run_name="birmingham", tags={"nivesh.benchmark": "birmingham"}
    ) as run:
        _log_inputs(run, config, panel, str(folder), "birmingham")
        result = _backtest(run, panel, levels, config)
    return TrainReport(MODEL, run.run_id, result.metrics, extra={"dataset": "birmingham"})
