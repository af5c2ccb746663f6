"""The documented rates of the synthetic data: what the realism tests hold it to, and the README quotes.

Measured at 500 users x 6 months up to 3,000 x 24 (seeds 1, 3, 7, 42); the ranges leave room for the
sampling noise of a 500-user data set.

==========================  =============  ==========================================
rate                        typical        documented range
==========================  =============  ==========================================
transactions / user-month   36.5           30-45 (10k users x 24 months: ~8.8M rows)
UPI share of all rows       61%            50-70% (the top channel by count)
salary share of credits     60%            45-75% of credited amount, own-account
                                           transfers and card-bill credits excluded
anomaly rate                0.50%          0.3-0.8% (``ANOMALY_RATE`` = 0.5%)
default rate (12 months)    7.4%           6-9% (on 5,000+ users)
festive shopping            1.4x           October + November shopping amount
                                           >= 1.15x the average month's
weekend food delivery       1.5x           weekend day vs weekday count >= 1.2x
==========================  =============  ==========================================

Shares of debit rows by count and by amount (typical, [documented range]): see
``DEBIT_COUNT_SHARES`` and ``DEBIT_AMOUNT_SHARES``. By count: UPI-heavy P2P transfers lead
(27%), then groceries (14%), food delivery (8.5%), utilities (8.5%), shopping (7%), travel (6%),
fuel (5.5%), dining (4%), ATM cash (3.5%). By amount: rent (11%), shopping (10%), P2P (8%),
groceries (6%), EMIs (6%), investments (5.5%), ATM cash (5%), utilities (4%), travel (4%);
own-account moves take the rest of the large shares (business owners' self transfers about
15%, card-bill payments 5%).
"""

from __future__ import annotations

from nivesh_ml.data.synthetic.credit import DEFAULT_BASE_RATE

__all__ = [
    "ANOMALY_RATE_RANGE",
    "DEBIT_AMOUNT_SHARES",
    "DEBIT_COUNT_SHARES",
    "DEFAULT_RATE_RANGE",
    "FESTIVE_SHOPPING_MIN",
    "SALARY_SHARE_OF_CREDITS",
    "TRANSACTIONS_PER_USER_MONTH",
    "UPI_SHARE_OF_ROWS",
    "WEEKEND_FOOD_DELIVERY_MIN",
]

TRANSACTIONS_PER_USER_MONTH = (30.0, 45.0)
UPI_SHARE_OF_ROWS = (0.50, 0.70)
SALARY_SHARE_OF_CREDITS = (0.45, 0.75)
ANOMALY_RATE_RANGE = (0.003, 0.008)
DEFAULT_RATE_RANGE = DEFAULT_BASE_RATE  # (0.06, 0.09)
FESTIVE_SHOPPING_MIN = 1.15
WEEKEND_FOOD_DELIVERY_MIN = 1.2

DEBIT_COUNT_SHARES: dict[str, tuple[float, float]] = {
    "p2p_transfer": (0.22, 0.33),
    "groceries": (0.11, 0.18),
    "food_delivery": (0.06, 0.11),
    "utilities": (0.06, 0.11),
    "shopping": (0.05, 0.09),
    "travel": (0.045, 0.085),
    "fuel": (0.035, 0.07),
    "dining": (0.03, 0.055),
    "atm_withdrawal": (0.025, 0.05),
    "healthcare": (0.02, 0.04),
    "investments": (0.012, 0.03),
    "rent": (0.008, 0.018),
    "emi": (0.005, 0.014),
    "subscriptions": (0.008, 0.035),
}

DEBIT_AMOUNT_SHARES: dict[str, tuple[float, float]] = {
    "rent": (0.08, 0.15),
    "shopping": (0.08, 0.13),
    "p2p_transfer": (0.06, 0.11),
    "emi": (0.045, 0.10),
    "groceries": (0.045, 0.08),
    "investments": (0.04, 0.08),
    "atm_withdrawal": (0.04, 0.065),
    "utilities": (0.03, 0.055),
    "travel": (0.028, 0.055),
    "fuel": (0.02, 0.04),
    "food_delivery": (0.015, 0.03),
    "dining": (0.013, 0.028),
    "healthcare": (0.015, 0.03),
    "subscriptions": (0.002, 0.008),
}
