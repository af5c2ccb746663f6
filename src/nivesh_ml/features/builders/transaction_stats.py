"""Builds ``transaction_stats``: what a user's usual debit looks like, and how fast they debit now.

Amount statistics are over every debit of the last 365 days. Hours are over user-initiated
debits only: auto-debits (EMIs, mandates) and charges the bank posts run at the bank's hours,
not the user's. Known merchants leave out people (P2P payees, self transfers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nivesh_ml.features.builders._common import (
    PEOPLE_CATEGORIES,
    Cut,
    codes_of,
    divide,
    group_mean_std,
    group_quantiles,
    per_user,
    per_user_matrix,
    top_per_user,
)
from nivesh_ml.features.definitions import CHANNELS, KNOWN_MERCHANTS_CAP, SPEND_CATEGORIES

__all__ = ["build", "earliest"]

QUANTILES = (0.5, 0.9, 0.99)
YEAR = pd.Timedelta(days=365)
VELOCITY_WINDOWS = {"1h": pd.Timedelta(hours=1), "24h": pd.Timedelta(hours=24), "7d": pd.Timedelta(days=7)}
_BANK_CHANNELS = ("auto_debit", "bank")
_HOUR_NS = 3_600 * 10**9
_NIGHT_ENDS = 6  # 00:00-05:59


def build(cut: Cut) -> dict[str, np.ndarray | list[list[str]]]:
    """The transaction statistics' feature columns for every user of ``cut``, by name."""
    t = cut.txns
    year = t.debit & t.since(cut.as_of, YEAR)
    return {
        **_amounts(cut, year),
        **_hours(cut, year & (codes_of(t.channel, _BANK_CHANNELS) < 0)),
        "known_merchants_365d": _known_merchants(cut, year),
        **_channels(cut, year),
        **_velocity(cut),
    }


def earliest(as_of: pd.Timestamp) -> pd.Timestamp:
    """The oldest instant whose transactions the view reads as of ``as_of`` (its longest window)."""
    return as_of - max(YEAR, *VELOCITY_WINDOWS.values())


def _amounts(cut: Cut, year: np.ndarray) -> dict[str, np.ndarray]:
    """Debit amount count, mean, std and percentiles overall, and mean and std per main category."""
    t = cut.txns
    uid, amount = t.uid[year], t.amount[year]
    mean, std = group_mean_std(uid, amount, cut.n)
    quantiles = group_quantiles(uid, amount, cut.n, QUANTILES)
    out = {
        "debit_count_365d": per_user(uid, cut.n),
        "debit_amount_mean_365d": mean,
        "debit_amount_std_365d": std,
        **{f"debit_amount_p{round(q * 100)}_365d": quantiles[:, j] for j, q in enumerate(QUANTILES)},
    }
    column = t.category_codes(SPEND_CATEGORIES)[year]
    keep = column >= 0
    width = len(SPEND_CATEGORIES)
    cat_mean, cat_std = group_mean_std(uid[keep] * width + column[keep], amount[keep], cut.n * width)
    cat_mean, cat_std = cat_mean.reshape(cut.n, width), cat_std.reshape(cut.n, width)
    for i, cat in enumerate(SPEND_CATEGORIES):
        out[f"debit_amount_mean_{cat}_365d"] = cat_mean[:, i]
        out[f"debit_amount_std_{cat}_365d"] = cat_std[:, i]
    return out


def _hours(cut: Cut, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Mean hour, night share and most common hour of the user-initiated debits in ``rows``."""
    uid = cut.txns.uid[rows]
    hour = (cut.txns.ts[rows] // _HOUR_NS) % 24
    count = per_user(uid, cut.n)
    by_hour = per_user_matrix(uid, hour, cut.n, 24)
    return {
        "hour_mean_365d": divide(per_user(uid, cut.n, hour.astype(np.float64)), count),
        "night_share_365d": divide(by_hour[:, :_NIGHT_ENDS].sum(axis=1), count),
        "most_common_hour_365d": np.where(count > 0, by_hour.argmax(axis=1), np.nan),
    }


def _known_merchants(cut: Cut, year: np.ndarray) -> list[list[str]]:
    """The merchants (not people) most often debited in the year, most used first, capped."""
    t = cut.txns
    keep = year & ~t.is_category(PEOPLE_CATEGORIES)
    return top_per_user(t.uid[keep], t.merchant[keep], np.ones(int(keep.sum())), cut.n, KNOWN_MERCHANTS_CAP)


def _channels(cut: Cut, year: np.ndarray) -> dict[str, np.ndarray]:
    """Share of the year's debits per channel."""
    t = cut.txns
    column = codes_of(t.channel, list(CHANNELS))[year]
    uid = t.uid[year]
    keep = column >= 0
    shares = divide(
        per_user_matrix(uid[keep], column[keep], cut.n, len(CHANNELS)), per_user(uid, cut.n)[:, None]
    )
    return {f"channel_share_{slug}_365d": shares[:, i] for i, slug in enumerate(CHANNELS.values())}


def _velocity(cut: Cut) -> dict[str, np.ndarray]:
    """Count and sum of debits in the last hour, day and week before as_of."""
    t = cut.txns
    out: dict[str, np.ndarray] = {}
    for name, window in VELOCITY_WINDOWS.items():
        keep = t.debit & t.since(cut.as_of, window)
        out[f"debit_count_{name}"] = per_user(t.uid[keep], cut.n)
        out[f"debit_sum_{name}"] = per_user(t.uid[keep], cut.n, t.amount[keep])
    return out
