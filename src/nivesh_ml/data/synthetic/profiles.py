"""How often, when and how much: the behaviour profiles of the discretionary categories.

Rates are transactions per user-month before the user's own factors (activity, tier, age, a
per-category taste), which average close to 1: the discretionary categories below make about
26 of the 36.5 transactions of an average user-month.
Medians are the amount (INR) a user earning ₹40k a month pays; amounts scale with income to
the power ``elasticity`` and spread lognormally with ``sigma``. Each user's amounts are then
scaled once more so that their monthly outflow matches a spend ratio set by their latent credit
risk (see :mod:`credit`).

Seasonality multiplies the monthly count (``months``: Jan..Dec; Diwali / festive Oct-Nov
shopping 1.6x and 1.45x, wedding season Nov-Feb, year-end travel 1.4x), the weekday
(``dow``: Mon..Sun; weekends 1.3-1.6x for food delivery, dining, shopping), the festive days
(``festive``: extra weight in the days around Dussehra and Diwali) and the first week of the
month after payday (``month_start``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["HOURS", "SPEND", "Spend", "hour_cdf"]


class Spend(NamedTuple):
    """The behaviour profile of one discretionary category."""

    category: str
    rate: float  # transactions per user-month
    median: float  # INR, for a ₹40k/month earner
    sigma: float
    elasticity: float
    channels: dict[str, float]
    hours: str
    dow: tuple[float, ...]
    months: tuple[float, ...]
    festive: float
    month_start: float
    tiers: tuple[float, float, float]


SPEND: tuple[Spend, ...] = (
    Spend("groceries", 4.5, 400, 0.75, 0.45, {"UPI": 0.68, "card": 0.30, "netbanking": 0.02}, "retail",
          (0.9, 0.9, 0.9, 0.95, 1.0, 1.25, 1.2), (1, 0.95, 1, 1, 1, 1, 1, 1, 1.05, 1.15, 1.1, 1),
          0.5, 0.3, (1.0, 0.95, 0.9)),
    Spend("food_delivery", 2.9, 380, 0.45, 0.35, {"UPI": 0.58, "card": 0.40, "netbanking": 0.02}, "food",
          (0.85, 0.85, 0.85, 0.9, 1.1, 1.35, 1.4), (1, 0.95, 0.95, 1, 1.05, 1.1, 1.1, 1.05, 1, 1, 1, 1.1),
          0.1, 0.1, (1.0, 0.7, 0.35)),
    Spend("dining", 1.5, 700, 0.7, 0.55, {"UPI": 0.55, "card": 0.45}, "dining",
          (0.7, 0.7, 0.75, 0.8, 1.15, 1.6, 1.5),
          (1.05, 1.1, 1, 0.95, 0.95, 0.9, 0.9, 0.95, 1, 1.1, 1.15, 1.3),
          0.4, 0.15, (1.0, 0.8, 0.6)),
    Spend("fuel", 2.2, 450, 0.45, 0.3, {"UPI": 0.55, "card": 0.45}, "commute",
          (1, 1, 1, 1, 1.05, 1, 0.9), (1, 1, 1, 1, 1, 1, 0.95, 0.95, 1, 1.05, 1.05, 1.05),
          0.1, 0.05, (1.0, 1.0, 1.0)),
    Spend("shopping", 2.0, 900, 1.0, 0.65, {"UPI": 0.40, "card": 0.55, "netbanking": 0.05}, "retail",
          (0.9, 0.9, 0.9, 0.9, 1, 1.25, 1.3),
          (1.1, 0.95, 0.9, 0.85, 0.9, 0.85, 1, 1.05, 1.05, 1.6, 1.45, 1.15),
          1.5, 0.2, (1.0, 0.9, 0.8)),
    Spend("travel", 2.2, 260, 1.0, 0.6, {"UPI": 0.62, "card": 0.30, "netbanking": 0.08}, "commute",
          (1, 0.95, 0.95, 1, 1.2, 1.1, 1.1),
          (1.1, 0.95, 0.95, 1.1, 1.25, 1.1, 0.85, 0.9, 0.9, 1.15, 1.3, 1.4),
          0.6, 0.05, (1.0, 0.8, 0.6)),
    Spend("entertainment", 0.6, 550, 0.6, 0.5, {"UPI": 0.45, "card": 0.55}, "evening",
          (0.7, 0.7, 0.7, 0.8, 1.2, 1.6, 1.5), (1, 0.95, 0.95, 1, 1.1, 1, 0.95, 1, 1, 1.1, 1.1, 1.2),
          0.3, 0.15, (1.0, 0.8, 0.6)),
    Spend("healthcare", 0.7, 600, 0.9, 0.35, {"UPI": 0.65, "card": 0.33, "netbanking": 0.02}, "retail",
          (1.1, 1.05, 1, 1, 1, 0.95, 0.8), (1.05, 1, 1, 1, 1, 1, 1.1, 1.15, 1.1, 1, 1, 1.05),
          0.0, 0.1, (1.0, 1.0, 1.0)),
    Spend("education", 0.2, 1400, 0.9, 0.45, {"UPI": 0.4, "card": 0.2, "netbanking": 0.4}, "office",
          (1.1, 1.1, 1.1, 1, 1, 0.9, 0.8), (1, 1, 1.1, 1.4, 1.2, 1.3, 1.2, 1, 1, 0.9, 0.8, 0.8),
          0.0, 0.1, (1.0, 0.9, 0.8)),
    Spend("p2p_transfer", 8.0, 220, 1.25, 0.55, {"UPI": 0.93, "NEFT/IMPS": 0.07}, "social",
          (1, 1, 1, 1, 1, 1.1, 1.05), (1.1, 1.1, 1, 1, 1.05, 1, 1, 1, 1, 1.1, 1.2, 1.1),
          0.3, 0.2, (1.0, 1.05, 1.1)),
    Spend("atm_withdrawal", 1.0, 2000, 0.6, 0.4, {"ATM": 1.0}, "atm",
          (1, 0.95, 0.95, 0.95, 1.05, 1.15, 1), (1, 1, 1, 1, 1, 1, 1, 1, 1, 1.2, 1.15, 1),
          0.5, 0.4, (0.8, 1.2, 1.8)),
)  # fmt: skip

# Relative weight of each hour 0..23 (local time). Few transactions between 1 and 5 am.
HOURS: dict[str, tuple[float, ...]] = {
    "retail": (0.3, 0.1, 0.05, 0.05, 0.05, 0.2, 0.6, 1.5, 3, 4.5, 6, 6.5,
               6.5, 6, 5.5, 5.5, 6, 7, 8, 8.5, 8, 6, 3.5, 1.5),
    "food": (1.2, 0.4, 0.1, 0.05, 0.05, 0.05, 0.2, 0.8, 2, 3, 2.5, 4,
             9, 11, 7, 3, 2.5, 3, 4, 8, 12, 12, 7, 3),
    "dining": (0.4, 0.1, 0.03, 0.02, 0.02, 0.02, 0.1, 0.6, 2, 3, 2.5, 3,
               7, 9, 6, 3, 3, 4, 5, 8, 12, 12, 7, 2),
    "commute": (0.5, 0.2, 0.1, 0.1, 0.2, 0.8, 2, 4, 7, 8, 6, 5,
                5, 5, 5, 5, 5.5, 7, 8.5, 8, 6, 4.5, 3, 1.5),
    "evening": (0.6, 0.2, 0.05, 0.03, 0.03, 0.03, 0.1, 0.3, 0.8, 1.5, 2.5, 3.5,
                5, 5.5, 5, 5, 5.5, 6.5, 8.5, 10, 10, 8.5, 5, 2),
    "office": (0.2, 0.05, 0.03, 0.03, 0.05, 0.1, 0.5, 1, 2, 6, 9, 10,
               9, 8, 8, 8, 7, 6, 4, 3, 2.5, 2, 1, 0.5),
    "early": (0.3, 0.05, 0.05, 0.05, 0.1, 1, 4, 8, 10, 12, 10, 8,
              5, 4, 3, 3, 2, 2, 1.5, 1, 1, 0.8, 0.5, 0.3),
    "social": (0.6, 0.2, 0.08, 0.05, 0.05, 0.2, 0.7, 2, 3.5, 4.5, 5.5, 6,
               6, 6, 5.5, 5.5, 6, 6.5, 7.5, 8.5, 8.5, 7, 4.5, 2),
    "atm": (0.2, 0.05, 0.03, 0.03, 0.05, 0.2, 1, 2.5, 4.5, 6, 7, 7,
            6.5, 6, 5.5, 5.5, 6, 7, 8, 8, 7, 5, 2.5, 0.8),
}  # fmt: skip


def hour_cdf(profile: str) -> np.ndarray:
    """The cumulative distribution over the 24 hours of a profile (last value exactly 1)."""
    weights = np.asarray(HOURS[profile], dtype=np.float64)
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return cdf
