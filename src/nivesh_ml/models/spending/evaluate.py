"""Evaluate a registered spending forecast on a transactions file, by rolling-origin backtest.

A forecaster is judged on months it has not seen, so "evaluating version N on a file" means
running the backtest on that file with version N's configuration (its Prophet settings, windows,
bands), refitting at every origin, beside seasonal naive and AutoETS. The file is a CSV or
Parquet with the synthetic transactions' columns; users' levels are built from the file itself
with the feature store's builder, each user counted from their first transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nivesh_ml.config import Settings
from nivesh_ml.models.pyfunc import unwrap
from nivesh_ml.models.spending.backtest import run_backtest
from nivesh_ml.models.spending.model import SpendingForecaster
from nivesh_ml.models.spending.panel import FeatureStoreLevels, build_panel, spend_frame
from nivesh_ml.models.transactions import read_transactions, sources_from_transactions
from nivesh_ml.tracking.loading import load_model

__all__ = ["evaluate"]


def evaluate(settings: Settings, data: Path, alias: str = "champion") -> dict[str, Any]:
    """Backtest metrics (``mape``, ``smape``, ``wape``, coverage, baselines) of ``alias`` on ``data``."""
    loaded = load_model(settings, "spending", alias)
    config = unwrap(loaded, SpendingForecaster).params.config
    transactions = read_transactions(Path(data))
    panel = build_panel(spend_frame(transactions, config.categories), config.categories)
    levels = FeatureStoreLevels(sources_from_transactions(transactions), panel, config.windows_days)
    result = run_backtest(panel, levels, config)
    return {
        **result.metrics,
        "model_version": loaded.version,
        "per_origin": result.per_origin,
        "per_category": result.per_category,
    }
