"""What every builder shares: the point-in-time cut of the sources and vectorised per-user reductions.

:func:`prepare` cuts the sources at ``as_of``: users who signed up before it, accounts opened
before it, and transactions strictly before it of those users, as plain numpy arrays indexed by a
user position ``uid`` (0..n-1, the order of :attr:`Cut.user_ids`). Every reduction here is a
``np.bincount`` (or a sort) over those arrays: no Python loop runs per user or per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DAY_NS",
    "DEPOSIT_TYPES",
    "INCOME_CATEGORIES",
    "LATE_FEE_PATTERN",
    "MERCHANT_CATEGORIES",
    "NON_SPEND_CATEGORIES",
    "PEOPLE_CATEGORIES",
    "TRANSACTION_COLUMNS",
    "Cut",
    "Txns",
    "codes_of",
    "divide",
    "group_mean_std",
    "group_quantiles",
    "history_mask",
    "masked_mean_std",
    "masked_median",
    "month_index",
    "per_user",
    "per_user_matrix",
    "prepare",
    "top_per_user",
]

DAY_NS = 86_400 * 10**9
INCOME_CATEGORIES: tuple[str, ...] = ("salary", "business_income", "pension", "other_income")
# Debits that move money rather than spend it (a card bill pays for spend already on the card).
NON_SPEND_CATEGORIES: tuple[str, ...] = ("self_transfer", "investments", "credit_card_payment")
# Debits to people (or to oneself): their "merchant" is a person's name, never a known merchant.
PEOPLE_CATEGORIES: tuple[str, ...] = ("p2p_transfer", "self_transfer")
# Categories whose counterparty is a business: what "top merchants" ranks.
MERCHANT_CATEGORIES: tuple[str, ...] = (
    "groceries", "food_delivery", "dining", "shopping", "travel", "fuel", "utilities", "entertainment",
    "subscriptions", "healthcare", "rent", "emi", "education", "insurance",
)  # fmt: skip
# A fee that records a missed payment: a card's late fee, a bounced NACH mandate or cheque.
LATE_FEE_PATTERN = r"(?i)late payment|nach return|cheque return|bounce|dishono"
DEPOSIT_TYPES: tuple[str, ...] = ("savings", "salary", "current")  # the accounts with a running balance


@dataclass(frozen=True)
class Txns:
    """Transactions before ``as_of``, one array per column, sorted by (uid, timestamp)."""

    uid: np.ndarray  # int64 user position
    ts: np.ndarray  # int64 ns since epoch (IST wall clock)
    amount: np.ndarray  # float64 INR, > 0
    debit: np.ndarray  # bool
    category: pd.Categorical
    merchant: pd.Categorical
    channel: pd.Categorical
    balance: np.ndarray  # float64 balance_after; NaN on cards
    account: np.ndarray  # int64 position in Cut.accounts; -1 for an account not opened before as_of
    late_fee: np.ndarray  # bool: a late-payment or bounce fee

    def is_category(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """A mask of the rows whose category is one of ``names``."""
        return np.asarray(self.category.isin(list(names)), dtype=bool)

    def category_codes(self, names: tuple[str, ...]) -> np.ndarray:
        """Per row, the position of its category in ``names``; -1 for any other category."""
        return codes_of(self.category, names)

    def since(self, as_of: pd.Timestamp, window: pd.Timedelta | pd.DateOffset) -> np.ndarray:
        """A mask of the rows at or after ``as_of - window`` (all rows are before ``as_of``)."""
        return np.asarray(self.ts >= (as_of - window).value, dtype=bool)


@dataclass(frozen=True)
class Cut:
    """The sources as they were known at ``as_of``."""

    as_of: pd.Timestamp
    user_ids: np.ndarray  # object array of str, in the users frame's order
    users: pd.DataFrame  # the known users' rows, index 0..n-1
    accounts: pd.DataFrame  # accounts opened before as_of of known users, index 0..m-1, with a `uid` column
    txns: Txns

    @property
    def n(self) -> int:
        """The number of users."""
        return int(self.user_ids.size)

    def first_seen(self) -> np.ndarray:
        """Per user, the timestamp (int64 ns) of their first transaction; as_of for users with none."""
        first = np.full(self.n, self.as_of.value, dtype=np.int64)
        uid = self.txns.uid
        if uid.size:
            starts = np.flatnonzero(np.r_[True, uid[1:] != uid[:-1]])
            first[uid[starts]] = self.txns.ts[starts]
        return first


_COLUMNS = ("account_id", "amount", "direction", "category", "merchant", "channel", "balance_after")
# Every transactions column a builder reads: a build may read only these.
TRANSACTION_COLUMNS: tuple[str, ...] = ("user_id", "timestamp", *_COLUMNS, "description")


def prepare(
    users: pd.DataFrame, accounts: pd.DataFrame, transactions: pd.DataFrame, as_of: pd.Timestamp
) -> Cut:
    """The point-in-time cut of the sources at ``as_of`` (see the module docstring)."""
    known = users[users["signup_date"] < as_of].reset_index(drop=True)
    user_ids = known["user_id"].astype(object).to_numpy()
    position = pd.Index(user_ids)
    opened = accounts[accounts["opened_date"] < as_of]
    account_uid = position.get_indexer(opened["user_id"].astype(object))
    cut_accounts = opened[account_uid >= 0].assign(uid=account_uid[account_uid >= 0]).reset_index(drop=True)
    stamps = transactions["timestamp"].to_numpy().astype("datetime64[ns]")
    rows = np.flatnonzero(stamps < as_of.to_datetime64())
    uid = _positions(position, pd.Series(transactions["user_id"].array.take(rows)))
    rows, uid = rows[uid >= 0], uid[uid >= 0]
    ts = stamps[rows].view(np.int64)
    order = _time_order(uid, ts)
    if order is not None:
        rows, uid, ts = rows[order], uid[order], ts[order]
    return Cut(as_of, user_ids, known, cut_accounts, _txns(transactions, rows, uid, ts, cut_accounts))


def _positions(index: pd.Index, values: pd.Series) -> np.ndarray:
    """Position of each value in ``index`` (-1 if absent), factorizing first: ids repeat a lot."""
    codes, uniques = pd.factorize(values)
    found = index.get_indexer(pd.Index(np.asarray(uniques, dtype=object)))
    return np.asarray(np.where(codes >= 0, found[codes], -1), dtype=np.int64)


def _txns(
    transactions: pd.DataFrame, rows: np.ndarray, uid: np.ndarray, ts: np.ndarray, accounts: pd.DataFrame
) -> Txns:
    """The arrays of ``rows`` (positions in ``transactions``, in (uid, ts) order)."""
    # .array.take, not .iloc: no index to carry along (that would double the cost)
    col = {name: pd.Series(transactions[name].array.take(rows)) for name in _COLUMNS}
    category = _categorical(col["category"])
    is_fee = np.asarray(category == "fees", dtype=bool)
    fees = transactions.iloc[rows[is_fee]]
    fee_text = fees["merchant"].astype(str) + " " + fees["description"].astype(str)
    late_fee = np.zeros(uid.size, dtype=bool)
    late_fee[is_fee] = fee_text.str.contains(LATE_FEE_PATTERN, regex=True).to_numpy(dtype=bool)
    return Txns(
        uid=uid,
        ts=ts,
        amount=col["amount"].to_numpy(dtype=np.float64),
        debit=np.asarray(_categorical(col["direction"]) == "debit", dtype=bool),
        category=category,
        merchant=_categorical(col["merchant"]),
        channel=_categorical(col["channel"]),
        balance=col["balance_after"].to_numpy(dtype=np.float64, na_value=np.nan),
        account=_positions(pd.Index(accounts["account_id"].astype(object)), col["account_id"]),
        late_fee=late_fee,
    )


def _time_order(uid: np.ndarray, ts: np.ndarray) -> np.ndarray | None:
    """The stable sort order by (uid, ts), or None when the rows are in that order already."""
    if uid.size < 2:
        return None
    same = uid[1:] == uid[:-1]
    if np.all(uid[1:] >= uid[:-1]) and np.all(~same | (ts[1:] >= ts[:-1])):
        return None
    return np.lexsort((ts, uid))


def _categorical(column: pd.Series) -> pd.Categorical:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return pd.Categorical(column.array)
    return pd.Categorical(column.astype(object))


def codes_of(values: pd.Categorical, names: tuple[str, ...] | list[str]) -> np.ndarray:
    """Per value, its position in ``names`` (-1 for anything else), recoding the categories only."""
    return np.asarray(values.set_categories(list(names)).codes, dtype=np.int64)


# --- reductions -------------------------------------------------------------------------------


def per_user(uid: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Per user, the count of rows (or the sum of ``weights``), as float64."""
    return np.bincount(uid, weights=weights, minlength=n).astype(np.float64)


def per_user_matrix(
    uid: np.ndarray, column: np.ndarray, n: int, width: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """An (n, width) matrix of row counts (or sums of ``weights``) per user and ``column`` (0..width-1)."""
    flat = np.bincount(uid * width + column, weights=weights, minlength=n * width)
    return flat.astype(np.float64).reshape(n, width)


def divide(numerator: Any, denominator: Any) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is 0 or NaN (no warnings)."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.broadcast_to(np.asarray(denominator, dtype=np.float64), num.shape)
    out = np.full(num.shape, np.nan)
    ok = (den != 0) & ~np.isnan(den)
    np.divide(num, den, out=out, where=ok)
    return out


def month_index(ts: np.ndarray, as_of: pd.Timestamp) -> np.ndarray:
    """Whole calendar months between each timestamp and ``as_of``: 0 for the month just before it.

    Month k covers ``[as_of - (k+1) months, as_of - k months)``, comparing day of month and time.
    """
    months = ts.astype("datetime64[ns]").astype("datetime64[M]")
    into = ts - months.astype("datetime64[ns]").view(np.int64)
    anchor_into = as_of.value - pd.Timestamp(as_of.year, as_of.month, 1).value
    diff = (as_of.year - 1970) * 12 + as_of.month - 1 - months.astype(np.int64)
    return np.asarray(diff - (into >= anchor_into), dtype=np.int64)


def history_mask(first_month: np.ndarray, width: int) -> np.ndarray:
    """(n, width) mask of the month columns 0..k each user has history in (k = their first month)."""
    return np.asarray(np.arange(width)[None, :] <= np.minimum(first_month, width - 1)[:, None], dtype=bool)


def masked_median(matrix: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per row, the median of the valid cells; NaN for a row with none."""
    count = valid.sum(axis=1)
    ordered = np.sort(np.where(valid, matrix, np.inf), axis=1)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[:, None], axis=1)[:, 0]
    high = np.take_along_axis(ordered, np.maximum(count // 2, 0)[:, None], axis=1)[:, 0]
    return np.where(count > 0, (low + np.where(count > 0, high, 0.0)) / 2, np.nan)


def masked_mean_std(matrix: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the mean (NaN with no valid cell) and sample std (NaN with under 2) of the valid cells."""
    count = valid.sum(axis=1).astype(np.float64)
    mean = divide(np.where(valid, matrix, 0.0).sum(axis=1), count)
    squares = np.where(valid, (matrix - np.nan_to_num(mean)[:, None]) ** 2, 0.0).sum(axis=1)
    return mean, np.sqrt(divide(squares, np.where(count >= 2, count - 1, 0.0)))


def group_mean_std(group: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group 0..size-1, the mean and sample std of ``values`` (two passes, so no cancellation)."""
    count = np.bincount(group, minlength=size).astype(np.float64)
    mean = divide(np.bincount(group, weights=values, minlength=size), count)
    squares = np.bincount(group, weights=(values - mean[group]) ** 2, minlength=size)
    return mean, np.sqrt(divide(squares, np.where(count >= 2, count - 1, 0.0)))


def group_quantiles(group: np.ndarray, values: np.ndarray, size: int, qs: tuple[float, ...]) -> np.ndarray:
    """(size, len(qs)) quantiles per group, linearly interpolated like pandas; NaN for an empty group."""
    order = np.lexsort((values, group))
    ordered = values[order]
    count = np.bincount(group, minlength=size)
    start = np.r_[0, np.cumsum(count)[:-1]]
    out = np.full((size, len(qs)), np.nan)
    some = count > 0
    for j, q in enumerate(qs):  # a loop over the few quantiles, vectorised over groups
        pos = q * (count[some] - 1)
        low = np.floor(pos).astype(np.int64)
        high = np.ceil(pos).astype(np.int64)
        frac = pos - low
        base = start[some]
        out[some, j] = ordered[base + low] * (1 - frac) + ordered[base + high] * frac
    return out


def top_per_user(
    uid: np.ndarray, labels: pd.Categorical, score: np.ndarray, n: int, k: int
) -> list[list[str]]:
    """Per user, up to ``k`` labels with the highest total ``score``, ties by name; [] for none."""
    frame = pd.DataFrame({"uid": uid, "label": labels.codes, "score": score})
    frame = frame[frame["label"] >= 0]
    totals = frame.groupby(["uid", "label"], sort=False)["score"].sum().reset_index()
    totals["name"] = np.asarray(labels.categories, dtype=object)[totals["label"].to_numpy()]
    totals = totals.sort_values(["uid", "score", "name"], ascending=[True, False, True], kind="stable")
    best = totals.groupby("uid", sort=False).head(k)
    lists = best.groupby("uid", sort=True)["name"].agg(list).reindex(range(n))
    return [value if isinstance(value, list) else [] for value in lists.tolist()]
