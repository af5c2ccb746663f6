"""Each user's life after the generated window: their own habits, continued one day at a time.

The generator draws a user's traits (tastes, favourite merchants, channels, raises) from
streams that span its whole window, so it cannot be rerun for one more day. The advance learns
every user's habits from the last :data:`WINDOW_DAYS` days of the generated history instead:

- **recurring** rows (salary, pension, rent, EMIs, bills, premiums, SIPs, subscriptions, card
  bills, allowances): a series (user, account, merchant, category, direction) seen at least
  twice with every gap 26-35 days (or 54-66: one missed month) is monthly, on its last day of
  the month (a salary paid on the last working day stays there), for its last amount; three or
  more rows with gaps of whole weeks, one of them 7 days, are weekly (gig payouts). Bills and
  card bills vary (lognormal sigma 0.12). Savings interest is posted on each quarter's last day.
- **discretionary** rows (everything else that is not a labelled anomaly, nor salary, pension,
  rent, EMI, interest or a tax refund outside a series): on a day of week
  ``w`` a user makes Poisson(rows they made on ``w`` days / number of ``w`` days) transactions,
  each a copy of one of their own ``w``-day rows (account, merchant, category, channel, hour)
  with the amount times lognormal(0, 0.12), rounded as the original was (notes, tens, rupees,
  paise).

So favourites, channel mix, card use and spending levels carry on, and the content of a day is
a function of the history, the seed and the day alone (advancing 7 days at once or one day
seven times writes the same rows). Seasonality and festivals beyond the window are not
modelled: an advanced day is a typical day of the user's last three months.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nivesh_ml.data.synthetic.batch import Batch, concat, make_batch
from nivesh_ml.data.synthetic.merchants import CATEGORIES, CHANNELS, cat, code, vocabulary
from nivesh_ml.data.synthetic.users import LAST_WORKING_DAY

__all__ = ["WINDOW_DAYS", "Habits", "day_rows", "learn_habits", "name_codes"]

WINDOW_DAYS = 90
_RECURRING = (
    "salary", "pension", "rent", "emi", "utilities", "insurance", "investments", "subscriptions",
    "education", "credit_card_payment", "p2p_transfer",
)  # fmt: skip
_VARIABLE = ("utilities", "credit_card_payment")
_JITTER = 0.12
_NEVER_AT_RANDOM = ("salary", "pension", "rent", "emi")
_MONTHLY = (26, 35)
_EPOCH = dt.date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Habits:
    """What every user does, learned from the end of the history (codes index the generator's tables)."""

    n_users: int
    pool: Batch  # discretionary template rows, sorted by (weekday, user); ``day`` holds the weekday
    pool_start: np.ndarray  # (7, users) offset of each user's rows of that weekday in ``pool``
    pool_count: np.ndarray  # (7, users) how many
    weekdays: np.ndarray  # (7,) how many of each weekday the window holds
    series: Batch  # one row per recurring series: its last occurrence
    last_day: np.ndarray  # date ordinal of each series' last occurrence
    weekly: np.ndarray  # bool: weekly, else monthly
    quarterly: np.ndarray  # bool: savings interest, on the last day of March, June, September, December
    last_working_day: np.ndarray  # bool: a monthly salary paid on the last working day


def name_codes(values: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    """Codes of a categorical (or text) column in a fixed tuple of names; -1 where a name is not there."""
    column = values.astype("category")
    lookup = {name: i for i, name in enumerate(names)}
    mapping = np.array([lookup.get(str(c), -1) for c in column.cat.categories] + [-1], dtype=np.int32)
    return np.asarray(mapping[column.cat.codes.to_numpy()], dtype=np.int32)


def learn_habits(window: pd.DataFrame, users: pd.DataFrame, accounts: pd.DataFrame, end: dt.date) -> Habits:
    """Habits of every user from ``window``: the history's transactions of its last days up to ``end``."""
    rows, ordinal = _coded(window, users, accounts)
    normal = rows.anomaly == 0
    rows, ordinal = rows.take(normal), ordinal[normal]
    recurring, series_last, weekly = _recurring(rows, ordinal, end)
    interest = rows.credit & (rows.merchant == code("Savings Interest"))
    quarterly = np.flatnonzero(interest)  # one posting per account in a 90-day window
    series_last = np.r_[series_last, quarterly]
    weekly = np.r_[weekly, np.zeros(quarterly.size, dtype=bool)]
    salary_lwd = (users["payday"].to_numpy() == LAST_WORKING_DAY)[rows.user[series_last]]
    # Irregular bills, premiums and SIPs are resampled at their rate; never income, rent or EMIs,
    # nor yearly or quarterly postings (a September interest credit is not a weekly habit).
    one_off = np.isin(rows.category, [cat(c) for c in _NEVER_AT_RANDOM]) | (
        rows.merchant == code("Income Tax Refund")
    )
    discretionary = ~recurring & ~interest & ~one_off
    pool, start, count, weekdays = _pool(rows.take(discretionary), ordinal[discretionary], len(users), end)
    return Habits(
        n_users=len(users),
        pool=pool,
        pool_start=start,
        pool_count=count,
        weekdays=weekdays,
        series=rows.take(series_last),
        last_day=ordinal[series_last],
        weekly=weekly,
        quarterly=np.r_[
            np.zeros(series_last.size - quarterly.size, dtype=bool), np.ones(quarterly.size, dtype=bool)
        ],
        last_working_day=salary_lwd & (rows.category[series_last] == cat("salary")) & ~weekly,
    )


def day_rows(habits: Habits, day: dt.date, rng: np.random.Generator) -> Batch:
    """The recurring and discretionary rows of every user on ``day`` (day index 0)."""
    due = _due(habits, day)
    recurring = habits.series.take(due)
    amount = recurring.amount.copy()
    varies = np.isin(recurring.category, [cat(c) for c in _VARIABLE])
    amount[varies] = _jittered(amount[varies], rng)
    recurring.amount = amount
    recurring.second = _same_hour(recurring.second, rng)
    dow = day.weekday()
    rate = habits.pool_count[dow] / max(int(habits.weekdays[dow]), 1)
    user = np.repeat(np.arange(habits.n_users), rng.poisson(rate))
    pick = habits.pool_start[dow, user] + (rng.random(user.size) * habits.pool_count[dow, user]).astype(
        np.int64
    )
    spent = habits.pool.take(pick)
    spent.amount = _jittered(spent.amount, rng)
    spent.second = _same_hour(spent.second, rng)
    out = concat([recurring, spent])
    out.day[:] = 0
    return out


def _coded(window: pd.DataFrame, users: pd.DataFrame, accounts: pd.DataFrame) -> tuple[Batch, np.ndarray]:
    """The window's rows as codes, and each row's date ordinal."""
    ts = window["timestamp"].to_numpy(dtype="datetime64[ns]")
    days = ts.astype("datetime64[D]")
    ordinal = days.astype(np.int64) + _EPOCH
    rows = make_batch(
        user=_index_in(window["user_id"], users["user_id"]),
        account=_index_in(window["account_id"], accounts["account_id"]),
        day=np.zeros(len(window), dtype=np.int32),
        second=((ts - days) // np.timedelta64(1, "s")).astype(np.int32),
        amount=window["amount"].to_numpy(dtype=np.float64),
        credit=window["direction"].astype(str).to_numpy() == "credit",
        category=name_codes(window["category"], CATEGORIES),
        merchant=name_codes(window["merchant"], vocabulary()),
        channel=name_codes(window["channel"], CHANNELS),
        anomaly=window["is_anomaly"].to_numpy().astype(np.int8),
    )
    known = (rows.user >= 0) & (rows.account >= 0) & (rows.category >= 0) & (rows.merchant >= 0)
    return rows.take(known), ordinal[known]


def _index_in(values: pd.Series, names: pd.Series) -> np.ndarray:
    found = pc.index_in(
        pa.array(values.astype("string[pyarrow]").array), value_set=pa.array(names.astype(str))
    )
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int32)


def _recurring(rows: Batch, ordinal: np.ndarray, end: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row whether it belongs to a recurring series; each such series' last row; weekly or not."""
    recurring_category = np.isin(rows.category, [cat(c) for c in _RECURRING])
    key = np.stack([rows.user, rows.account, rows.merchant, rows.category, rows.credit.astype(np.int32)])
    key[:, ~recurring_category] = -1 - np.arange((~recurring_category).sum())  # never a series
    order = np.lexsort((ordinal, *key[::-1]))
    sorted_key = key[:, order]
    first = np.r_[True, np.any(sorted_key[:, 1:] != sorted_key[:, :-1], axis=0)]
    group = np.cumsum(first) - 1
    series_id = np.empty(len(rows), dtype=np.int64)
    series_id[order] = group
    starts = np.flatnonzero(first)
    size = np.diff(np.r_[starts, order.size])
    gap = np.diff(ordinal[order], prepend=0)
    opening = np.zeros(order.size, dtype=bool)
    opening[starts] = True
    # A missed month (a job gap) or a missed week (a shocked gig week) does not end a series.
    month_gap = ((gap >= _MONTHLY[0]) & (gap <= _MONTHLY[1])) | ((gap >= 2 * 27) & (gap <= 2 * 33))
    week_gap = (gap % 7 == 0) & (gap > 0) & (gap <= 28)
    every_month = np.logical_and.reduceat(month_gap | opening, starts)
    every_week = np.logical_and.reduceat(week_gap | opening, starts)
    one_week = np.logical_or.reduceat((gap == 7) & ~opening, starts)
    last = order[starts + size - 1]
    age = end.toordinal() - ordinal[last]
    monthly = (size >= 2) & every_month & (age <= _MONTHLY[1])
    weekly = (size >= 3) & every_week & one_week & (age <= 14)
    keep = monthly | weekly
    return keep[series_id], last[keep], weekly[keep]


def _pool(
    rows: Batch, ordinal: np.ndarray, n_users: int, end: dt.date
) -> tuple[Batch, np.ndarray, np.ndarray, np.ndarray]:
    """Discretionary rows sorted by (weekday, user), with per weekday and user offsets and counts."""
    weekday = ((ordinal - 1) % 7).astype(np.int64)  # date.fromordinal(1) is a Monday
    order = np.lexsort((ordinal, rows.user, weekday))
    pool = rows.take(order)
    pool.day = weekday[order].astype(np.int32)
    cell = pool.day.astype(np.int64) * n_users + pool.user
    count = np.bincount(cell, minlength=7 * n_users).reshape(7, n_users)
    start = (np.cumsum(count.ravel()) - count.ravel()).reshape(7, n_users)
    first = int(ordinal.min()) if ordinal.size else end.toordinal()
    span = np.arange(first, end.toordinal() + 1)
    weekdays = np.bincount((span - 1) % 7, minlength=7)
    return pool, start, count, weekdays


def _due(habits: Habits, day: dt.date) -> np.ndarray:
    """Which recurring series fall on ``day``."""
    since = day.toordinal() - habits.last_day
    weekly = habits.weekly & (since % 7 == 0)
    month_len = (pd.Timestamp(day) + pd.offsets.MonthEnd(0)).day
    last = (habits.last_day[~habits.weekly] - _EPOCH).astype("datetime64[D]")
    last_dom = (last - last.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    monthly = np.zeros(habits.weekly.size, dtype=bool)
    monthly[~habits.weekly] = np.minimum(last_dom, month_len) == day.day
    monthly &= ~habits.last_working_day & (since > 20)
    monthly &= ~habits.quarterly
    lwd = habits.last_working_day & (day == _last_working_day(day))
    quarter_end = day.month in (3, 6, 9, 12) and day.day == month_len
    return np.flatnonzero(weekly | monthly | lwd | (habits.quarterly & quarter_end))


def _last_working_day(day: dt.date) -> dt.date:
    last: dt.date = (pd.Timestamp(day) + pd.offsets.MonthEnd(0)).date()
    return last - dt.timedelta(days=max(last.weekday() - 4, 0))


def _jittered(amount: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``amount`` times lognormal noise, rounded to the same step as the original (100, 10, 1 or 0.01)."""
    paise = np.round(amount * 100).astype(np.int64)
    step = np.select([paise % 10_000 == 0, paise % 1_000 == 0, paise % 100 == 0], [100.0, 10.0, 1.0], 0.01)
    noisy = amount * rng.lognormal(0.0, _JITTER, amount.size)
    return np.asarray(np.maximum(np.round(noisy / step) * step, step), dtype=np.float64).round(2)


def _same_hour(second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A new second within each row's hour."""
    return ((second // 3600) * 3600 + rng.integers(0, 3600, second.size)).astype(np.int32)
