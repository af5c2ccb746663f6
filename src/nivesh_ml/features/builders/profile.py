"""Builds ``user_financial_profile``: income, spend, balances, debt, card use, repayment record, accounts.

Monthly figures are over the calendar months before ``as_of`` (month 0 ends at ``as_of``), up
to 6, and only the months since the user's first transaction: a user seen for 2 months has 2
history months, and a month in that history with no income counts as 0 income. End-of-day
balances come from ``balance_after`` of each deposit account, carried forward over days without
a transaction (from the last row before the window, if any); an account never seen has none.
A day belongs to a window when it starts inside ``[as_of - window, as_of)``: the day of ``as_of``
counts (its balance is the last one before ``as_of``), the day the window starts in only if the
window starts at midnight, so ``overdraft_days_3m`` counts exactly the window's days at most.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nivesh_ml.features.builders._common import (
    DAY_NS,
    DEPOSIT_TYPES,
    INCOME_CATEGORIES,
    NON_SPEND_CATEGORIES,
    Cut,
    codes_of,
    divide,
    history_mask,
    masked_mean_std,
    masked_median,
    month_index,
    per_user,
    per_user_matrix,
)
from nivesh_ml.features.definitions import PROFILE_WINDOWS_MONTHS

__all__ = ["build", "earliest"]

HISTORY_MONTHS = 6
BALANCE_DAYS = 90
_LOAN_TYPES = ("personal_loan", "home_loan", "auto_loan", "education_loan")
_COUNTED_TYPES = ("savings", "salary", "current", "credit_card", *_LOAN_TYPES)


def build(cut: Cut) -> dict[str, np.ndarray]:
    """The profile's feature columns for every user of ``cut``, by name."""
    return {**_monthly(cut), **_balances(cut), **_repayment(cut), **_accounts(cut)}


def earliest(as_of: pd.Timestamp) -> pd.Timestamp:
    """The oldest instant whose transactions the profile reads as of ``as_of``: the midnight its
    balance grid starts at, the longest window's start (besides each user's first transaction and
    each account's last balance before it; see :func:`nivesh_ml.features.builders.earliest_read`).
    """
    months = max(*PROFILE_WINDOWS_MONTHS, HISTORY_MONTHS)
    start = (as_of - pd.DateOffset(months=months)).normalize()
    return min(start, as_of - pd.Timedelta(days=BALANCE_DAYS))


def _monthly(cut: Cut) -> dict[str, np.ndarray]:
    """Income, spend, EMI and card spend per month, and what follows from them."""
    t = cut.txns
    month = month_index(t.ts, cut.as_of)
    first_month = month_index(cut.first_seen(), cut.as_of)
    valid = history_mask(first_month, HISTORY_MONTHS)
    recent = month < HISTORY_MONTHS
    card_accounts = np.flatnonzero(cut.accounts["account_type"].astype(str).to_numpy() == "credit_card")
    on_card = np.isin(t.account, card_accounts)

    def monthly(mask: np.ndarray) -> np.ndarray:
        keep = mask & recent
        return per_user_matrix(t.uid[keep], month[keep], cut.n, HISTORY_MONTHS, t.amount[keep])

    income = monthly(~t.debit & t.is_category(INCOME_CATEGORIES))
    income_estimate = masked_median(income, valid)
    income_mean, income_std = masked_mean_std(income, valid)
    spend, _ = masked_mean_std(monthly(t.debit & ~t.is_category(NON_SPEND_CATEGORIES)), valid)
    emi, _ = masked_mean_std(monthly(t.debit & t.is_category(("emi",))), valid)
    card_spend, _ = masked_mean_std(monthly(t.debit & on_card), valid)
    limit = _credit_limits(cut)
    return {
        "history_months": valid.sum(axis=1),
        "monthly_income": income_estimate,
        "income_volatility": divide(income_std, income_mean),
        "avg_monthly_spend": spend,
        "savings_rate": np.clip(divide(income_estimate - spend, income_estimate), -1.0, 1.0),
        "avg_monthly_emi": emi,
        "debt_to_income": divide(emi, income_estimate),
        "avg_monthly_card_spend": card_spend,
        "total_credit_limit": limit,
        "credit_utilisation": divide(card_spend, limit),
    }


def _credit_limits(cut: Cut) -> np.ndarray:
    accounts = cut.accounts
    limits = accounts["credit_limit"].to_numpy(dtype=np.float64, na_value=np.nan)
    is_card = accounts["account_type"].astype(str).to_numpy() == "credit_card"
    return per_user(accounts["uid"].to_numpy(), cut.n, np.where(is_card, np.nan_to_num(limits), 0.0))


def _repayment(cut: Cut) -> dict[str, np.ndarray]:
    """Late-payment and bounce fees in the last 3, 6 and 12 months."""
    t = cut.txns
    late = t.late_fee & t.debit
    month = month_index(t.ts[late], cut.as_of)
    uid = t.uid[late]
    return {f"late_payments_{m}m": per_user(uid[month < m], cut.n) for m in PROFILE_WINDOWS_MONTHS}


def _balances(cut: Cut) -> dict[str, np.ndarray]:
    """Balance statistics over 90 days, and days overdrawn in 3, 6 and 12 months."""
    start = (cut.as_of - pd.DateOffset(months=max(PROFILE_WINDOWS_MONTHS))).normalize()
    total, overdrawn = _daily_balances(cut, start)
    day_start = start.value + np.arange(total.shape[1], dtype=np.int64) * DAY_NS
    out: dict[str, np.ndarray] = {}
    for m in PROFILE_WINDOWS_MONTHS:
        in_window = _days_since(day_start, cut.as_of - pd.DateOffset(months=m))
        out[f"overdraft_days_{m}m"] = overdrawn[:, in_window].sum(axis=1)
    recent = total[:, _days_since(day_start, cut.as_of - pd.Timedelta(days=BALANCE_DAYS))]
    known = ~np.isnan(recent)
    mean, std = masked_mean_std(recent, known)
    lowest = np.where(known, recent, np.inf).min(axis=1, initial=np.inf)
    out.update(
        balance_mean_90d=mean,
        balance_min_90d=np.where(np.isfinite(lowest), lowest, np.nan),
        balance_std_90d=std,
    )
    return out


def _days_since(day_start: np.ndarray, since: pd.Timestamp) -> np.ndarray:
    """The days (of the grid, all before ``as_of``) that start at or after ``since``; see the module
    docstring. Not the day ``since`` falls in: with it a 3-month window held 93 days.
    """
    return np.asarray(day_start >= since.value, dtype=bool)


def _daily_balances(cut: Cut, start: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Per user and day from ``start`` to the day of ``as_of``: the end-of-day balance summed over the
    user's deposit accounts (NaN where none is known yet), and whether any of them was below zero.
    """
    n_days = int(((cut.as_of - pd.Timedelta(1, "ns")).normalize() - start).days) + 1
    accounts = cut.accounts
    is_deposit = accounts["account_type"].astype(str).isin(DEPOSIT_TYPES).to_numpy()
    deposits = np.flatnonzero(is_deposit)
    deposits = deposits[np.argsort(accounts["uid"].to_numpy()[deposits], kind="stable")]
    local = np.full(len(accounts) + 1, -1)  # the extra slot maps account -1 to -1
    local[deposits] = np.arange(deposits.size)
    grid = np.full((deposits.size, max(n_days, 1)), np.nan)
    t = cut.txns
    row = local[t.account]
    keep = (row >= 0) & ~np.isnan(t.balance)
    day = np.clip((t.ts[keep] - start.value) // DAY_NS, 0, n_days - 1)
    key = row[keep] * n_days + day
    last = ~pd.Series(key).duplicated(keep="last").to_numpy()  # rows are in time order per account
    grid[row[keep][last], day[last]] = t.balance[keep][last]
    grid = _forward_fill(grid)
    owner = accounts["uid"].to_numpy()[deposits]
    return _per_owner(grid, owner, cut.n)


def _forward_fill(grid: np.ndarray) -> np.ndarray:
    """Each NaN cell takes the last known value to its left in its row (leading NaNs stay)."""
    index = np.where(~np.isnan(grid), np.arange(grid.shape[1])[None, :], 0)
    np.maximum.accumulate(index, axis=1, out=index)
    return grid[np.arange(grid.shape[0])[:, None], index]


def _per_owner(grid: np.ndarray, owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum the account rows of ``grid`` per owner (rows sorted by owner), and flag negative days."""
    total = np.full((n, grid.shape[1]), np.nan)
    overdrawn = np.zeros((n, grid.shape[1]), dtype=bool)
    if owner.size == 0:
        return total, overdrawn
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    users = owner[starts]
    known = np.add.reduceat((~np.isnan(grid)).astype(np.int64), starts, axis=0)
    sums = np.add.reduceat(np.nan_to_num(grid), starts, axis=0)
    total[users] = np.where(known > 0, sums, np.nan)
    overdrawn[users] = np.maximum.reduceat((grid < 0).astype(np.int8), starts, axis=0) > 0
    return total, overdrawn


def _accounts(cut: Cut) -> dict[str, np.ndarray]:
    """Accounts per type, tenure and whether there is a salary account."""
    uid = cut.accounts["uid"].to_numpy()
    kind = codes_of(pd.Categorical(cut.accounts["account_type"].astype(str)), _COUNTED_TYPES)
    counts = per_user_matrix(uid[kind >= 0], kind[kind >= 0], cut.n, len(_COUNTED_TYPES))
    column = {name: counts[:, i] for i, name in enumerate(_COUNTED_TYPES)}
    signup = cut.users["signup_date"].to_numpy().astype("datetime64[ns]").view(np.int64)
    return {
        "n_accounts": per_user(uid, cut.n),
        "n_savings_accounts": column["savings"],
        "n_current_accounts": column["current"],
        "n_credit_cards": column["credit_card"],
        "n_loans": counts[:, [_COUNTED_TYPES.index(name) for name in _LOAN_TYPES]].sum(axis=1),
        "tenure_months": np.maximum(month_index(signup, cut.as_of), 0),
        "has_salary_account": column["salary"] > 0,
    }
