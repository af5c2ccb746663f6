"""The feature views: what each feature means, its type, and how long a computed row stays fresh.

A :class:`FeatureView` is a versioned, typed set of per-user features computed *as of* an instant
from the transactions strictly before it (the builders in :mod:`nivesh_ml.features.builders`).
The three views:

- ``user_financial_profile`` v1 (TTL 35 days): income, spend, savings, balances, debt, card use,
  late payments, overdrafts, accounts, tenure. What credit risk reads.
- ``spending_patterns`` v1 (TTL 35 days): spend per category over 30/90/365 days, trends, share
  of wallet, volatility, weekend share, top merchants. What the spending forecast reads.
- ``transaction_stats`` v1 (TTL 2 days): amount distribution, usual hours, known merchants,
  channel mix, recent velocity. What the anomaly detector reads.

Conventions every view keeps: windows are measured back from ``as_of`` (``30d`` = the 30 days
before it; ``3m`` = the 3 calendar months before it, by day of month and time; a count of days
counts each day that starts in the window, so the day of ``as_of`` counts, up to ``as_of``, and
the window's first, partial day does not: never more days than the window holds); a user with no
transactions in a window gets 0 for counts and sums and NaN for means, ratios and shares;
"spend" is every debit except transfers to self, investments and credit-card bill payments
(those move money, they do not spend it). Timestamps are IST wall-clock time, tz-naive.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import pandas as pd

from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.online import ViewKey

__all__ = [
    "CHANNELS",
    "ENTITY_COLUMNS",
    "FEATURE_VIEWS",
    "KNOWN_MERCHANTS_CAP",
    "PANDAS_DTYPES",
    "PROFILE_WINDOWS_MONTHS",
    "SPEND_CATEGORIES",
    "TOP_MERCHANTS",
    "Dtype",
    "Feature",
    "FeatureView",
    "check_frame",
    "get_view",
    "window_days",
]

Dtype = Literal["int64", "float64", "bool", "string", "list[string]"]

# What each declared dtype is in a pandas frame; lists are Python lists of str in an object column.
PANDAS_DTYPES: dict[str, str] = {
    "int64": "int64",
    "float64": "float64",
    "bool": "bool",
    "string": "object",
    "list[string]": "object",
}
ENTITY_COLUMNS: tuple[str, str] = ("user_id", "event_timestamp")

# The main spend categories that get per-category features, in feature order.
SPEND_CATEGORIES: tuple[str, ...] = (
    "groceries",
    "food_delivery",
    "dining",
    "shopping",
    "travel",
    "fuel",
    "utilities",
    "entertainment",
    "subscriptions",
    "healthcare",
    "rent",
    "emi",
)
# Channel name in the data -> its slug in feature names.
CHANNELS: dict[str, str] = {
    "UPI": "upi",
    "card": "card",
    "netbanking": "netbanking",
    "ATM": "atm",
    "NEFT/IMPS": "neft_imps",
    "auto_debit": "auto_debit",
    "bank": "bank",
}
TOP_MERCHANTS = 3
KNOWN_MERCHANTS_CAP = 50  # a user's known merchants: the 50 most used, so the online row stays small
# The calendar-month windows of the profile's counts (late payments, overdraft days).
PROFILE_WINDOWS_MONTHS: tuple[int, ...] = (3, 6, 12)


def window_days(months: int) -> int:
    """The most days a window of ``months`` calendar months can hold: 92 for 3, 184 for 6, 366 for 12.

    A day count over the window (``overdraft_days_3m``) never exceeds it: the builders count the
    days that start in ``[as_of - months, as_of)``, which are exactly the window's days.
    """
    if not 1 <= months <= 12:
        raise FeatureStoreError(f"a window of {months} months: windows are 1 to 12 months")
    # 2023-2025 holds every run of up to 12 consecutive months, leap February included
    lengths = [calendar.monthrange(2023 + i // 12, i % 12 + 1)[1] for i in range(36)]
    return max(sum(lengths[start : start + months]) for start in range(len(lengths) - months + 1))


_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Feature:
    """One named, typed feature and what it means, in one line."""

    name: str
    dtype: Dtype
    description: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise FeatureStoreError(f"bad feature name {self.name!r}: use lower_snake_case")
        if self.dtype not in PANDAS_DTYPES:
            raise FeatureStoreError(f"feature {self.name!r} has unknown dtype {self.dtype!r}")


@dataclass(frozen=True)
class FeatureView:
    """A versioned set of per-entity features, fresh for ``ttl`` after the instant it was computed as of."""

    name: str
    version: int
    ttl: timedelta
    description: str
    features: tuple[Feature, ...]
    entity: str = "user_id"

    def __post_init__(self) -> None:
        ViewKey(self.name, self.version)  # validates name and version
        if self.ttl <= timedelta(0):
            raise FeatureStoreError(f"view {self.name!r}: ttl must be positive, got {self.ttl}")
        names = [feature.name for feature in self.features]
        if len(set(names)) != len(names) or set(names) & set(ENTITY_COLUMNS):
            raise FeatureStoreError(
                f"view {self.name!r}: feature names must be unique and not entity columns"
            )

    @property
    def key(self) -> ViewKey:
        """The view's key in the online store."""
        return ViewKey(self.name, self.version)

    @property
    def columns(self) -> list[str]:
        """The feature names, in declared order."""
        return [feature.name for feature in self.features]

    @property
    def dtypes(self) -> dict[str, Dtype]:
        """Declared dtype per feature name."""
        return {feature.name: feature.dtype for feature in self.features}


# --- user_financial_profile -------------------------------------------------------------------

_INCOME = "salary, business_income, pension and other_income credits"
_PROFILE: tuple[Feature, ...] = (
    Feature(
        "history_months",
        "int64",
        "Months the monthly figures cover: calendar months since the first transaction, up to 6.",
    ),
    Feature(
        "monthly_income", "float64", f"Estimated monthly income: median monthly {_INCOME}, last 6 months."
    ),
    Feature(
        "income_volatility", "float64", "Coefficient of variation (std/mean) of monthly income, 6 months."
    ),
    Feature(
        "avg_monthly_spend",
        "float64",
        "Mean monthly spend: debits less self transfers, investments, card bills.",
    ),
    Feature("savings_rate", "float64", "(monthly_income - avg_monthly_spend) / monthly_income, in [-1, 1]."),
    Feature(
        "balance_mean_90d", "float64", "Mean end-of-day balance over the user's deposit accounts, 90 days."
    ),
    Feature(
        "balance_min_90d", "float64", "Lowest end-of-day balance over the user's deposit accounts, 90 days."
    ),
    Feature("balance_std_90d", "float64", "Standard deviation of the end-of-day balance, 90 days."),
    Feature(
        "avg_monthly_emi", "float64", "Mean monthly EMI debits over the history months (0 without a loan)."
    ),
    Feature("debt_to_income", "float64", "EMI burden: avg_monthly_emi / monthly_income."),
    Feature(
        "avg_monthly_card_spend", "float64", "Mean monthly debits on credit-card accounts (fees included)."
    ),
    Feature("total_credit_limit", "float64", "Sum of the credit limits of the cards (0 with none)."),
    Feature(
        "credit_utilisation", "float64", "avg_monthly_card_spend / total_credit_limit (NaN without a card)."
    ),
    *(
        Feature(
            f"late_payments_{m}m",
            "int64",
            f"Late-payment and bounce fees (card late fee, NACH or cheque return), {m} months.",
        )
        for m in PROFILE_WINDOWS_MONTHS
    ),
    *(
        Feature(
            f"overdraft_days_{m}m", "int64", f"Days that ended with a deposit account below zero, {m} months."
        )
        for m in PROFILE_WINDOWS_MONTHS
    ),
    Feature("n_accounts", "int64", "Accounts of every type opened before as_of."),
    Feature("n_savings_accounts", "int64", "Savings accounts (salary accounts not included)."),
    Feature("n_current_accounts", "int64", "Current accounts."),
    Feature("n_credit_cards", "int64", "Credit cards."),
    Feature("n_loans", "int64", "Loan accounts: personal, home, auto and education."),
    Feature("tenure_months", "int64", "Whole months since the user signed up."),
    Feature("has_salary_account", "bool", "Whether the user has a salary account."),
)

# --- spending_patterns ------------------------------------------------------------------------


def _spending_features() -> tuple[Feature, ...]:
    sums = [
        Feature(f"spend_{cat}_{days}d", "float64", f"Spend on {cat}, last {days} days (0 with none).")
        for cat in SPEND_CATEGORIES
        for days in (30, 90, 365)
    ]
    trends = [
        Feature(
            f"spend_trend_{cat}",
            "float64",
            f"Daily {cat} spend rate over 90 days / over 365 days, each over the days of history.",
        )
        for cat in SPEND_CATEGORIES
    ]
    shares = [
        Feature(f"spend_share_{cat}_365d", "float64", f"Share of all spend that went to {cat}, 365 days.")
        for cat in SPEND_CATEGORIES
    ]
    return (
        *sums,
        *trends,
        *shares,
        Feature(
            "monthly_spend_volatility",
            "float64",
            "Coefficient of variation of monthly spend, up to 12 months.",
        ),
        Feature(
            "weekend_spend_ratio_365d", "float64", "Share of spend made on Saturdays and Sundays, 365 days."
        ),
        Feature(
            "top_merchants_90d",
            "list[string]",
            f"The {TOP_MERCHANTS} merchants (businesses) with most spend, 90 days; ties by name.",
        ),
    )


# --- transaction_stats ------------------------------------------------------------------------


def _transaction_features() -> tuple[Feature, ...]:
    overall = [
        Feature("debit_count_365d", "int64", "Number of debits, 365 days."),
        Feature("debit_amount_mean_365d", "float64", "Mean debit amount, 365 days."),
        Feature("debit_amount_std_365d", "float64", "Standard deviation of debit amounts, 365 days."),
        *(
            Feature(f"debit_amount_p{q}_365d", "float64", f"{q}th percentile of debit amounts, 365 days.")
            for q in (50, 90, 99)
        ),
    ]
    per_category = [
        Feature(
            f"debit_amount_{stat}_{cat}_365d",
            "float64",
            f"{label} of {cat} debit amounts, 365 days (std needs 2).",
        )
        for cat in SPEND_CATEGORIES
        for stat, label in (("mean", "Mean"), ("std", "Standard deviation"))
    ]
    hours = [
        Feature(
            "hour_mean_365d",
            "float64",
            "Mean hour of user-initiated debits (no auto-debits or bank charges), 365 days.",
        ),
        Feature("night_share_365d", "float64", "Share of user-initiated debits made 00:00-05:59, 365 days."),
        Feature(
            "most_common_hour_365d",
            "float64",
            "Most common hour (earliest on a tie) of user-initiated debits, 365 days.",
        ),
    ]
    channels = [
        Feature(f"channel_share_{slug}_365d", "float64", f"Share of debits made through {name}, 365 days.")
        for name, slug in CHANNELS.items()
    ]
    velocity = [
        Feature(
            f"debit_{stat}_{window}",
            "float64" if stat == "sum" else "int64",
            f"{label} of debits in the {window} before as_of.",
        )
        for window in ("1h", "24h", "7d")
        for stat, label in (("count", "Count"), ("sum", "Sum"))
    ]
    merchants = Feature(
        "known_merchants_365d",
        "list[string]",
        f"Merchants (not people) debited in 365 days, the {KNOWN_MERCHANTS_CAP} most used first.",
    )
    return (*overall, *per_category, *hours, merchants, *channels, *velocity)


FEATURE_VIEWS: tuple[FeatureView, ...] = (
    FeatureView(
        name="user_financial_profile",
        version=1,
        ttl=timedelta(days=35),
        description="Income, spend, savings, balances, debt, card use and repayment record of a user.",
        features=_PROFILE,
    ),
    FeatureView(
        name="spending_patterns",
        version=1,
        ttl=timedelta(days=35),
        description="Where a user's money goes: spend per category, trends, shares, rhythm, merchants.",
        features=_spending_features(),
    ),
    FeatureView(
        name="transaction_stats",
        version=1,
        ttl=timedelta(days=2),
        description="What a user's usual transaction looks like, and how fast they are transacting now.",
        features=_transaction_features(),
    ),
)


def get_view(name: str, version: int | None = None) -> FeatureView:
    """The view ``name`` at ``version`` (its latest version when None)."""
    matches = [view for view in FEATURE_VIEWS if view.name == name]
    if version is not None:
        matches = [view for view in matches if view.version == version]
    if not matches:
        known = ", ".join(str(view.key) for view in FEATURE_VIEWS)
        wanted = name if version is None else f"{name}:v{version}"
        raise FeatureStoreError(f"unknown feature view {wanted!r}; known views: {known}")
    return max(matches, key=lambda view: view.version)


def check_frame(view: FeatureView, frame: pd.DataFrame) -> None:
    """Raise FeatureStoreError unless ``frame`` has the view's columns, in order, with its dtypes.

    The columns are ``user_id`` (str), ``event_timestamp`` (datetime64[ns]) and the features.
    """
    expected = [*ENTITY_COLUMNS, *view.columns]
    if list(frame.columns) != expected:
        missing = sorted(set(expected) - set(frame.columns))
        extra = sorted(set(frame.columns) - set(expected))
        raise FeatureStoreError(
            f"frame does not match view {view.key}: missing {missing}, unexpected {extra} (or out of order)"
        )
    wrong = [
        f"{name}: {frame[name].dtype} (want {dtype})"
        for name, dtype in {"user_id": "string", "event_timestamp": "datetime64[ns]", **view.dtypes}.items()
        if not _has_dtype(frame[name], dtype)
    ]
    if wrong:
        raise FeatureStoreError(f"frame does not match view {view.key}: " + "; ".join(wrong[:5]))


def _has_dtype(column: pd.Series, dtype: str) -> bool:
    if dtype == "datetime64[ns]":
        return str(column.dtype) == dtype
    if str(column.dtype) != PANDAS_DTYPES[dtype]:
        return False
    if dtype == "string":
        return bool(column.map(lambda value: isinstance(value, str)).all())
    if dtype == "list[string]":
        return bool(column.map(_is_str_list).all())
    return True


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
