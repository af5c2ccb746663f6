"""Builds ``spending_patterns``: spend per category and window, trends, shares, rhythm, top merchants.

A category's trend compares its daily spend rate over the last 90 days with the rate over the
last 365 days, each over the days the user has history for (since their first transaction), so
a user seen for only 4 months is not read as a rising spender. Monthly volatility is over the
calendar months of history, up to 12.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nivesh_ml.features.builders._common import (
    DAY_NS,
    MERCHANT_CATEGORIES,
    NON_SPEND_CATEGORIES,
    Cut,
    divide,
    history_mask,
    masked_mean_std,
    month_index,
    per_user,
    per_user_matrix,
    top_per_user,
)
from nivesh_ml.features.definitions import SPEND_CATEGORIES, TOP_MERCHANTS

__all__ = ["build", "earliest"]

WINDOWS_DAYS = (30, 90, 365)
VOLATILITY_MONTHS = 12
_SATURDAY, _SUNDAY = 5, 6  # numpy weekday numbers, Monday = 0


def build(cut: Cut) -> dict[str, np.ndarray | list[list[str]]]:
    """The spending view's feature columns for every user of ``cut``, by name."""
    t = cut.txns
    spend = t.debit & ~t.is_category(NON_SPEND_CATEGORIES)
    year = spend & t.since(cut.as_of, pd.Timedelta(days=365))
    total = per_user(t.uid[year], cut.n, t.amount[year])
    out: dict[str, np.ndarray | list[list[str]]] = {}
    out.update(_per_category(cut, spend, total))
    out["monthly_spend_volatility"] = _volatility(cut, spend)
    weekend = year & np.isin(_weekday(t.ts), (_SATURDAY, _SUNDAY))
    out["weekend_spend_ratio_365d"] = divide(per_user(t.uid[weekend], cut.n, t.amount[weekend]), total)
    out["top_merchants_90d"] = _top_merchants(cut)
    return out


def earliest(as_of: pd.Timestamp) -> pd.Timestamp:
    """The oldest instant whose transactions the view reads as of ``as_of`` (its longest window),
    besides each user's first transaction (their history length)."""
    days = as_of - pd.Timedelta(days=max(WINDOWS_DAYS))
    return min(days, as_of - pd.DateOffset(months=VOLATILITY_MONTHS))


def _per_category(cut: Cut, spend: np.ndarray, total: np.ndarray) -> dict[str, np.ndarray]:
    """Sums per category over 30/90/365 days, trends and shares of wallet."""
    t = cut.txns
    column = t.category_codes(SPEND_CATEGORIES)
    sums: dict[int, np.ndarray] = {}
    for days in WINDOWS_DAYS:  # three windows, each one bincount over all users and categories
        keep = spend & (column >= 0) & t.since(cut.as_of, pd.Timedelta(days=days))
        sums[days] = per_user_matrix(t.uid[keep], column[keep], cut.n, len(SPEND_CATEGORIES), t.amount[keep])
    history_days = (cut.as_of.value - cut.first_seen()) / DAY_NS
    rate_90 = divide(sums[90], np.minimum(history_days, 90)[:, None])
    rate_365 = divide(sums[365], np.minimum(history_days, 365)[:, None])
    trend = divide(rate_90, rate_365)
    share = divide(sums[365], total[:, None])
    out: dict[str, np.ndarray] = {}
    for i, cat in enumerate(SPEND_CATEGORIES):
        out.update({f"spend_{cat}_{days}d": sums[days][:, i] for days in WINDOWS_DAYS})
        out[f"spend_trend_{cat}"] = trend[:, i]
        out[f"spend_share_{cat}_365d"] = share[:, i]
    return out


def _volatility(cut: Cut, spend: np.ndarray) -> np.ndarray:
    """Coefficient of variation of monthly spend over the history months (up to 12)."""
    t = cut.txns
    month = month_index(t.ts, cut.as_of)
    keep = spend & (month < VOLATILITY_MONTHS)
    monthly = per_user_matrix(t.uid[keep], month[keep], cut.n, VOLATILITY_MONTHS, t.amount[keep])
    valid = history_mask(month_index(cut.first_seen(), cut.as_of), VOLATILITY_MONTHS)
    mean, std = masked_mean_std(monthly, valid)
    return divide(std, mean)


def _top_merchants(cut: Cut) -> list[list[str]]:
    """The merchants (businesses, not people) with most spend in 90 days."""
    t = cut.txns
    keep = t.debit & t.is_category(MERCHANT_CATEGORIES) & t.since(cut.as_of, pd.Timedelta(days=90))
    return top_per_user(t.uid[keep], t.merchant[keep], t.amount[keep], cut.n, TOP_MERCHANTS)


def _weekday(ts: np.ndarray) -> np.ndarray:
    """Day of week of each timestamp, Monday = 0 (1970-01-01 was a Thursday)."""
    return np.asarray((ts // DAY_NS + 3) % 7, dtype=np.int64)
