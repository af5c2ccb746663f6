"""The detector's features: one transaction against its user's history, the same code everywhere.

Inputs, as arrays over the transactions to score: the transaction's own fields; the user's
``transaction_stats`` row as of the transaction (:class:`StatsTable`, from an offline snapshot in
training, from the online store in serving); the :mod:`.context` counts from the user's recent
debits; and population :class:`Priors` learnt in training (for users the store does not know
and for merchants' popularity). :func:`feature_matrix` turns them into :data:`FEATURES`.

An Isolation Forest treats every feature alike and splits uniformly between a node's extremes,
so each feature is one-sided (0 for the ordinary, growing with suspicion) and the ones whose
tails matter are stretched (``amount_z``, ``merchant_rarity``). Features whose extremes are
mostly benign were measured and left out (docs/TRAINING_GUIDE.md): each cost
recall at 1% FPR (log amount, population hour rarity, distance from the usual hour, channel
share).

- ``amount_z``: e^(1.5 z) with z the log amount's excess over the user's usual in the category
  (their mean there, the population's typical within-user spread), from 0, capped at z = 6;
  ``amount_over_p99``: log excess over the user's 99th-percentile debit (main categories);
- ``night_rarity``: at 00:00-05:59, -log of the user's share of debits at night;
- ``new_merchant``: a business (not a person) neither among the user's known merchants nor paid
  since the snapshot; ``merchant_rarity``: for a new one, 1 / share of users who ever paid it;
- ``new_channel``: a channel this user, with 20+ debits a year, never used;
- ``velocity_1h`` (log debits in the last hour), ``velocity_24h`` (log excess of the last day's
  debits over 5x the user's daily usual), ``same_merchant_1h``, ``burst`` (how far under an hour
  the previous debit was, in log seconds), ``duplicate`` (the same amount at the same merchant
  within the duplicate window).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nivesh_ml.features.definitions import CHANNELS, SPEND_CATEGORIES

__all__ = [
    "FEATURES",
    "Priors",
    "StatsTable",
    "Transactions",
    "feature_matrix",
    "lognormal",
    "lookup",
    "present",
]

FEATURES: tuple[str, ...] = (
    "amount_z",
    "amount_over_p99",
    "night_rarity",
    "new_merchant",
    "merchant_rarity",
    "new_channel",
    "velocity_1h",
    "velocity_24h",
    "same_merchant_1h",
    "burst",
    "duplicate",
)
PEOPLE = frozenset({"p2p_transfer", "self_transfer"})  # payees are people, never "merchants"
_NIGHT_END = 6
_MIN_SIGMA = 0.25  # a fixed-price category (rent) would otherwise make every rupee a z-score
_MAX_GAP_S = 7 * 86_400
_STRETCH, _MAX_Z = 1.5, 6.0
_MIN_CHANNEL_HISTORY = 20
_DAILY_EXCESS = 5.0  # a day's debits start to count beyond 5x the user's usual
_BURST_S = 3_600.0  # debits further apart than this are not a burst
_FEW = 64  # below this many rows, plain Python beats a pandas call
_NUMERIC = (
    "debit_count_365d",
    "debit_amount_mean_365d",
    "debit_amount_std_365d",
    "debit_amount_p99_365d",
    "night_share_365d",
    "most_common_hour_365d",
    *(f"debit_amount_{s}_{c}_365d" for c in SPEND_CATEGORIES for s in ("mean", "std")),
    *(f"channel_share_{slug}_365d" for slug in CHANNELS.values()),
)


@dataclass(frozen=True)
class Transactions:
    """The transactions to score, as arrays."""

    amount: np.ndarray  # float64 rupees
    hour: np.ndarray  # int64 0..23, IST wall clock
    merchant: np.ndarray  # object
    category: np.ndarray  # object
    channel: np.ndarray  # object
    stats_row: np.ndarray  # int64 row of the user's stats in the StatsTable; -1 when it has none

    @classmethod
    def build(cls, frame: pd.DataFrame, stats_row: np.ndarray) -> Transactions:
        """From a frame with amount, timestamp, merchant, category and channel columns."""
        stamps = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"]))
        return cls(
            amount=frame["amount"].to_numpy(dtype=np.float64),
            hour=np.asarray(stamps.hour, dtype=np.int64),
            merchant=frame["merchant"].astype(str).to_numpy(dtype=object),
            category=frame["category"].astype(str).to_numpy(dtype=object),
            channel=frame["channel"].astype(str).to_numpy(dtype=object),
            stats_row=np.asarray(stats_row, dtype=np.int64),
        )


@dataclass(frozen=True)
class StatsTable:
    """Users' transaction_stats rows: numeric columns and known-merchant lists, by row."""

    numeric: dict[str, np.ndarray]
    known_merchants: list[list[str]]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> StatsTable:
        """From a transaction_stats snapshot (the builder's or the offline store's frame)."""
        numeric = {name: frame[name].to_numpy(dtype=np.float64) for name in _NUMERIC}
        known = [value if isinstance(value, list) else [] for value in frame["known_merchants_365d"]]
        return cls(numeric, known)

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | None) -> StatsTable:
        """From one online-store row (None: a user the store does not know)."""
        values = row or {}
        numeric = {name: np.array([_number(values.get(name))]) for name in _NUMERIC}
        known = values.get("known_merchants_365d")
        return cls(numeric, [list(known) if isinstance(known, list) else []])

    def column(self, name: str, rows: np.ndarray) -> np.ndarray:
        """The column's values at ``rows`` (NaN where the row is -1)."""
        values = self.numeric[name]
        return (
            np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)
            if values.size
            else np.full(rows.size, np.nan)
        )


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else np.nan


@dataclass(frozen=True)
class Priors:
    """What the population says, for users without history and for merchants' popularity."""

    category_log_mean: dict[str, float]
    category_log_std: dict[str, float]
    category_spread: dict[str, float]  # typical std of log amounts within one user's category
    overall_log_mean: float
    overall_log_std: float
    overall_log_p99: float
    night_share: float
    channel_share: dict[str, float]
    merchant_users: dict[str, float]  # share of users who paid each merchant
    n_users: int
    reference: dict[str, float] = field(default_factory=dict)  # typical value of each feature

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values."""
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Priors:
        """Back from :meth:`to_json`."""
        return cls(**values)


def lognormal(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mu and sigma of the lognormal with this mean and standard deviation (NaN where unknown)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma2 = np.log1p((std / mean) ** 2)
        return np.log(mean) - sigma2 / 2, np.sqrt(sigma2)


def feature_matrix(
    txns: Transactions, stats: StatsTable, context: Mapping[str, np.ndarray], priors: Priors
) -> np.ndarray:
    """(transactions, len(FEATURES)) float64, in the order of :data:`FEATURES`."""
    columns = {
        **_amount_features(txns, stats, priors),
        **_hour_features(txns, stats, priors),
        **_merchant_features(txns, stats, context, priors),
        **_channel_features(txns, stats, priors),
        **_velocity_features(txns, stats, context),
    }
    return np.column_stack([columns[name] for name in FEATURES]).astype(np.float64)


def _amount_features(txns: Transactions, stats: StatsTable, priors: Priors) -> dict[str, np.ndarray]:
    """z of the log amount against the user's usual, and the log amount over the user's p99.

    In the main categories the user's mean amount sets the centre and the population's typical
    within-user spread the scale: a user's own 365-day std is too often blown up by one past
    outlier to judge the next. Elsewhere the user's overall lognormal, else the population's.
    """
    rows = txns.stats_row
    mu, sigma = lognormal(
        stats.column("debit_amount_mean_365d", rows), stats.column("debit_amount_std_365d", rows)
    )
    for cat in present(txns.category, SPEND_CATEGORIES):
        here = txns.category == cat
        if here.any():
            spread = priors.category_spread.get(cat, priors.overall_log_std)
            mean = stats.column(f"debit_amount_mean_{cat}_365d", rows[here])
            own = np.isfinite(mean) & (mean > 0)
            centre = np.log(np.where(own, mean, 1.0)) - spread**2 / 2
            mu[here] = np.where(own, centre, mu[here])
            sigma[here] = np.where(own, spread, sigma[here])
    prior_mu = lookup(txns.category, priors.category_log_mean, priors.overall_log_mean)
    prior_sigma = lookup(txns.category, priors.category_log_std, priors.overall_log_std)
    unknown = ~(np.isfinite(mu) & np.isfinite(sigma))
    mu, sigma = np.where(unknown, prior_mu, mu), np.where(unknown, prior_sigma, sigma)
    log_amount = np.log(np.maximum(txns.amount, 0.01))
    z = (log_amount - mu) / np.maximum(sigma, _MIN_SIGMA)
    # Outside the main categories (insurance, fees, investments, transfers) the user has no own
    # distribution: a yearly premium is large for the user but ordinary for the category.
    other = ~np.isin(txns.category, list(SPEND_CATEGORIES))
    z_category = (log_amount - prior_mu) / np.maximum(prior_sigma, _MIN_SIGMA)
    z = np.where(other, np.minimum(z, z_category), z)
    p99 = stats.column("debit_amount_p99_365d", rows)
    log_p99 = np.where(p99 > 0, np.log(np.where(p99 > 0, p99, 1.0)), priors.overall_log_p99)
    return {
        "amount_z": np.exp(_STRETCH * np.clip(z, 0, _MAX_Z)),
        "amount_over_p99": np.where(other, 0.0, np.clip(log_amount - log_p99, 0, 5)),
    }


def _hour_features(txns: Transactions, stats: StatsTable, priors: Priors) -> dict[str, np.ndarray]:
    rows = txns.stats_row
    count = np.nan_to_num(stats.column("debit_count_365d", rows))
    night_share = stats.column("night_share_365d", rows)
    night_share = np.where(np.isfinite(night_share), night_share, priors.night_share)
    floor = 1.0 / (count + 2.0)  # a user never seen at night: rare, not impossible
    is_night = txns.hour < _NIGHT_END
    return {"night_rarity": np.where(is_night, -np.log(np.maximum(night_share, floor)), 0.0)}


def _merchant_features(
    txns: Transactions, stats: StatsTable, context: Mapping[str, np.ndarray], priors: Priors
) -> dict[str, np.ndarray]:
    is_business = ~np.isin(txns.category, list(PEOPLE))
    known = _in_lists(txns.merchant, txns.stats_row, stats.known_merchants)
    has_history = txns.stats_row >= 0
    new = is_business & has_history & ~known & ~np.asarray(context["merchant_seen_since"], dtype=bool)
    floor = 0.5 / max(priors.n_users, 1)
    share = lookup(txns.merchant, priors.merchant_users, floor)
    return {
        "new_merchant": new.astype(np.float64),
        "merchant_rarity": np.where(new, 1.0 / np.maximum(share, floor), 0.0),
    }


def present(values: np.ndarray, names: tuple[str, ...]) -> list[str]:
    """Those of ``names`` that occur in ``values`` (one pass, not one mask per name)."""
    seen = set(values.tolist())
    return [name for name in names if name in seen]


def lookup(keys: np.ndarray, table: Mapping[str, float], default: float) -> np.ndarray:
    """``table[key]`` for each key (``default`` when absent): a dict loop for a few, a pandas map for many."""
    if keys.size <= _FEW:
        return np.array([table.get(key, default) for key in keys], dtype=np.float64)
    mapped = pd.Series(keys, dtype=object).map(table)
    return np.asarray(mapped.fillna(default).to_numpy(dtype=np.float64))


def _in_lists(values: np.ndarray, rows: np.ndarray, lists: Sequence[list[str]]) -> np.ndarray:
    """Whether ``values[i]`` is in ``lists[rows[i]]`` (False for row -1), for all i at once."""
    if values.size <= _FEW:
        return np.array([r >= 0 and v in lists[r] for v, r in zip(values, rows, strict=True)], dtype=bool)
    lengths = np.fromiter((len(items) for items in lists), dtype=np.int64, count=len(lists))
    if lengths.sum() == 0:
        return np.zeros(values.size, dtype=bool)
    owner = np.repeat(np.arange(len(lists)), lengths)
    flat = np.fromiter((m for items in lists for m in items), dtype=object, count=int(lengths.sum()))
    codes, uniques = pd.factorize(np.concatenate([flat, values]))
    width = len(uniques) + 1
    pairs = owner * width + codes[: flat.size]
    wanted = np.where(rows >= 0, rows * width + codes[flat.size :], -1)
    return np.isin(wanted, pairs)


def _channel_features(txns: Transactions, stats: StatsTable, priors: Priors) -> dict[str, np.ndarray]:
    rows = txns.stats_row
    count = np.nan_to_num(stats.column("debit_count_365d", rows))
    share = np.full(txns.channel.size, np.nan)
    for name in present(txns.channel, tuple(CHANNELS)):
        here = txns.channel == name
        share[here] = stats.column(f"channel_share_{CHANNELS[name]}_365d", rows[here])
    prior = lookup(txns.channel, priors.channel_share, 0.0)
    share = np.where(np.isfinite(share), share, prior)
    return {"new_channel": ((share == 0) & (count >= _MIN_CHANNEL_HISTORY)).astype(np.float64)}


def _velocity_features(
    txns: Transactions, stats: StatsTable, context: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    daily = np.nan_to_num(stats.column("debit_count_365d", txns.stats_row)) / 365.0
    gap = np.minimum(np.asarray(context["seconds_since_previous"], dtype=np.float64), _MAX_GAP_S)
    return {
        "velocity_1h": np.log1p(context["count_1h"]),
        "velocity_24h": np.log1p(np.maximum(context["count_24h"] / (daily + 1.0) - _DAILY_EXCESS, 0.0)),
        "same_merchant_1h": np.log1p(context["same_merchant_1h"]),
        "burst": np.maximum(np.log(_BURST_S) - np.log1p(gap), 0.0),
        "duplicate": np.isfinite(context["duplicate_seconds"]).astype(np.float64),
    }
