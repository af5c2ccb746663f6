"""Features for every debit of a data set, point in time, for training and evaluation.

Each debit is paired with its user's ``transaction_stats`` row as of the start of its period
(month by default: ``snapshot_freq``), built by the feature store's own builder from the
transactions strictly before that instant; its context counts come from every debit before it
(:func:`.context.context_features`, whose "merchant paid since the snapshot" closes the gap
between the snapshot and the debit). Then :func:`.features.feature_matrix`, the function
serving calls, makes the features. Debits before ``first`` only serve as history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nivesh_ml.features.builders import SourceFrames, build_views
from nivesh_ml.features.definitions import get_view
from nivesh_ml.models.anomaly.config import AnomalyConfig
from nivesh_ml.models.anomaly.context import Debits, context_features
from nivesh_ml.models.anomaly.features import PEOPLE, Priors, StatsTable, Transactions, feature_matrix
from nivesh_ml.progress import item_progress

__all__ = ["FeatureSet", "build_feature_set", "debits_of", "fit_priors", "month_index"]

_VIEW = "transaction_stats"
_META = ("txn_id", "user_id", "timestamp", "amount", "merchant", "category", "channel")


@dataclass
class FeatureSet:
    """Scored debits: identifying columns and labels, the feature matrix, and what explains them."""

    meta: pd.DataFrame  # _META columns (+ is_anomaly, anomaly_type when present), row order = matrix
    matrix: np.ndarray  # (debits, features)
    context: dict[str, np.ndarray]
    snapshot: np.ndarray  # per row, the index of its stats table
    stats_row: np.ndarray  # per row, its user's row in that table (-1: none)
    tables: list[StatsTable]
    priors: Priors

    def rows(self, mask: np.ndarray) -> FeatureSet:
        """The subset of rows where ``mask`` holds."""
        return FeatureSet(
            self.meta[mask].reset_index(drop=True),
            self.matrix[mask],
            {k: v[mask] for k, v in self.context.items()},
            self.snapshot[mask],
            self.stats_row[mask],
            self.tables,
            self.priors,
        )


def debits_of(transactions: pd.DataFrame) -> pd.DataFrame:
    """The debits, in time order (ties by their order in the frame)."""
    debit = transactions["direction"].astype(object).to_numpy() == "debit"
    return transactions[debit].sort_values("timestamp", kind="stable").reset_index(drop=True)


def month_index(stamps: pd.Series, start: pd.Timestamp) -> np.ndarray:
    """Whole calendar months from ``start``'s month to each timestamp's."""
    months = pd.DatetimeIndex(stamps).to_period("M").asi8 - start.to_period("M").ordinal
    return np.asarray(months, dtype=np.int64)


def fit_priors(debits: pd.DataFrame, n_users: int) -> Priors:
    """Population priors from (training) debits."""
    log_amount = np.log(np.maximum(debits["amount"].to_numpy(dtype=np.float64), 0.01))
    category = debits["category"].astype(str)
    by_category = pd.Series(log_amount).groupby(category.to_numpy()).agg(["mean", "std"]).fillna(1.0)
    hour = pd.DatetimeIndex(debits["timestamp"]).hour.to_numpy()
    businesses = debits[~category.isin(list(PEOPLE)).to_numpy()]
    payers = businesses.groupby(businesses["merchant"].astype(str), sort=False)["user_id"].nunique()
    return Priors(
        category_log_mean={k: float(v) for k, v in by_category["mean"].items()},
        category_log_std={k: float(v) for k, v in by_category["std"].items()},
        category_spread=_within_user_spread(debits["user_id"], category, log_amount),
        overall_log_mean=float(log_amount.mean()),
        overall_log_std=float(log_amount.std()),
        overall_log_p99=float(np.quantile(log_amount, 0.99)),
        night_share=float((hour < 6).mean()),
        channel_share={
            k: float(v) for k, v in debits["channel"].astype(str).value_counts(normalize=True).items()
        },
        merchant_users={k: float(v) / max(n_users, 1) for k, v in payers.items()},
        n_users=n_users,
    )


def _within_user_spread(user: pd.Series, category: pd.Series, log_amount: np.ndarray) -> dict[str, float]:
    """Per category, the median over users (with 3+ debits there) of the std of their log amounts."""
    frame = pd.DataFrame(
        {"user": user.astype(str).to_numpy(), "category": category.to_numpy(), "x": log_amount}
    )
    per_user = frame.groupby(["category", "user"], sort=False)["x"].agg(["std", "count"])
    per_user = per_user[per_user["count"] >= 3]
    return {str(k): float(v) for k, v in per_user.groupby(level="category")["std"].median().items()}


def build_feature_set(
    sources: SourceFrames, first: pd.Timestamp, priors: Priors, config: AnomalyConfig, title: str = "features"
) -> FeatureSet:
    """Features of every debit at or after ``first`` (see the module docstring)."""
    debits = debits_of(sources.transactions)
    history = Debits.build(
        debits["user_id"], debits["timestamp"], debits["merchant"].astype(str), debits["amount"]
    )
    scored = np.flatnonzero(debits["timestamp"].to_numpy() >= first.to_datetime64())
    times = _snapshot_times(first, debits["timestamp"].max(), config.snapshot_freq)
    period = (
        np.searchsorted(times.asi8, debits["timestamp"].to_numpy()[scored].astype(np.int64), side="right") - 1
    )
    since = times[period].to_numpy().astype("datetime64[s]").astype(np.int64)
    queries = Debits(
        history.user[scored], history.seconds[scored], history.merchant[scored], history.paise[scored]
    )
    context = context_features(
        history,
        queries,
        since,
        windows_s=config.velocity_windows_s,
        duplicate_s=config.duplicate_window_s,
        includes_self=True,
    )
    meta = debits.iloc[scored].reset_index(drop=True)
    matrix, stats_row, tables = _per_snapshot(sources, meta, period, times, context, priors, title)
    keep = [c for c in (*_META, "is_anomaly", "anomaly_type") if c in meta.columns]
    return FeatureSet(meta[keep], matrix, context, period, stats_row, tables, priors)


def _snapshot_times(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    later = pd.date_range(first, last, freq=freq)
    return pd.DatetimeIndex([first, *later[later > first]]).as_unit("ns")


def _per_snapshot(
    sources: SourceFrames,
    meta: pd.DataFrame,
    period: np.ndarray,
    times: pd.DatetimeIndex,
    context: dict[str, np.ndarray],
    priors: Priors,
    title: str,
) -> tuple[np.ndarray, np.ndarray, list[StatsTable]]:
    view = get_view(_VIEW)
    matrix = np.zeros((len(meta), 0))
    stats_row = np.full(len(meta), -1, dtype=np.int64)
    tables: list[StatsTable] = []
    with item_progress(f"{title}: transaction_stats snapshots", total=len(times)) as advance:
        for p, as_of in enumerate(times):
            frame = build_views([view], sources, pd.Timestamp(as_of))[view.name]
            tables.append(StatsTable.from_frame(frame))
            rows = np.flatnonzero(period == p)
            stats_row[rows] = pd.Index(frame["user_id"]).get_indexer(meta["user_id"].iloc[rows].astype(str))
            txns = Transactions.build(meta.iloc[rows], stats_row[rows])
            part = feature_matrix(txns, tables[-1], {k: v[rows] for k, v in context.items()}, priors)
            if matrix.shape[1] == 0:
                matrix = np.zeros((len(meta), part.shape[1]))
            matrix[rows] = part
            advance(1)
    return matrix, stats_row, tables
