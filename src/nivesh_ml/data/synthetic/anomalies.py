"""Labelled anomalies, injected at a documented rate: ANOMALY_RATE = 0.5% of all transactions.

Of the anomalous rows, by type (``anomaly_type``):

- ``amount_spike`` (25%): an existing debit (groceries, food, dining, fuel, shopping, travel,
  entertainment, healthcare) re-priced to 5-20x the user's usual (geometric-mean) amount there.
- ``unusual_hour_new_merchant`` (20%): a new debit between 1 and 5 am at a high-ticket merchant
  (electronics, jewellery, wallets, gift cards) the user has never paid before, ₹1.5k-90k.
- ``velocity_burst`` (25%): events of 5-12 card or UPI debits 10-120 seconds apart (gift cards,
  wallet top-ups, games), each ₹300-5,000; every row of a burst is labelled.
- ``foreign_card_not_present`` (15%): a card debit at a merchant abroad ("AMZN Mktp US",
  "ALIEXPRESS", ...) in USD converted at the day's rate plus a 3.5% markup, at any hour.
- ``duplicate_charge`` (15%): a second copy (same account, merchant, amount) of an ordinary
  card or UPI debit 20-150 seconds after it; the copy is the labelled row.

Not trivial on purpose: normal users also shop at some foreign merchants, buy electronics,
spend big in the festive season and transact late at night.
"""

from __future__ import annotations

import numpy as np

from nivesh_ml.data.synthetic.accounts import Accounts, paying_account
from nivesh_ml.data.synthetic.batch import Batch, concat, make_batch, seconds_in_hours
from nivesh_ml.data.synthetic.merchants import (
    ANOMALY_TYPES,
    CATEGORIES,
    FOREIGN_MERCHANTS,
    NEW_MERCHANT_POOL,
    VELOCITY_POOL,
    cat,
    ch,
    codes,
    vocabulary,
)
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import Population

__all__ = ["ANOMALY_RATE", "ANOMALY_SHARES", "inject_anomalies", "usd_rate"]

ANOMALY_RATE = 0.005
ANOMALY_SHARES: dict[str, float] = {
    "amount_spike": 0.25,
    "unusual_hour_new_merchant": 0.20,
    "velocity_burst": 0.25,
    "foreign_card_not_present": 0.15,
    "duplicate_charge": 0.15,
}
_SPIKE_CATEGORIES = (
    "groceries",
    "food_delivery",
    "dining",
    "fuel",
    "shopping",
    "travel",
    "entertainment",
    "healthcare",
)
_DUPLICATE_CATEGORIES = (
    "groceries",
    "food_delivery",
    "dining",
    "fuel",
    "shopping",
    "entertainment",
    "travel",
)
_MEAN_BURST = 8.5
_MARKUP = 1.035
_CATEGORY_OF = {
    "Google Play": "entertainment", "Dream11": "entertainment", "MPL": "entertainment",
    "STEAM GAMES": "entertainment",
    "NORDVPN": "subscriptions", "GOOGLE *CLOUD": "subscriptions", "APPLE.COM/BILL": "subscriptions",
    "BOOKING.COM": "travel",
}  # fmt: skip


def usd_rate(day: np.ndarray, n_days: int) -> np.ndarray:
    """INR per USD on each day index: a slow drift from 84 to 88 over the window."""
    return 84.0 + 4.0 * day / max(n_days, 1)


def inject_anomalies(
    batch: Batch, pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator
) -> Batch:
    """``batch`` with amount spikes applied and the other anomaly types appended, all labelled."""
    target = ANOMALY_RATE * len(batch)
    counts = {name: max(1, round(target * share)) for name, share in ANOMALY_SHARES.items()}
    spiked = _amount_spikes(batch, counts["amount_spike"], rng)
    return concat(
        [
            spiked,
            _unusual_hour(batch, counts["unusual_hour_new_merchant"], pop, acc, tl, rng),
            _velocity_bursts(max(1, round(counts["velocity_burst"] / _MEAN_BURST)), pop, acc, tl, rng),
            _foreign(counts["foreign_card_not_present"], pop, acc, tl, rng),
            _duplicates(batch, counts["duplicate_charge"], rng),
        ]
    )


def _label(name: str) -> int:
    return ANOMALY_TYPES.index(name)


def _category_codes(names: tuple[str, ...] | list[str]) -> np.ndarray:
    return np.array([cat(_CATEGORY_OF.get(n, "shopping")) for n in names], dtype=np.int8)


def _candidates(batch: Batch, categories: tuple[str, ...]) -> np.ndarray:
    allowed = np.zeros(len(CATEGORIES), dtype=bool)
    allowed[[cat(c) for c in categories]] = True
    return np.flatnonzero(allowed[batch.category] & ~batch.credit & (batch.anomaly == 0))


def _amount_spikes(batch: Batch, count: int, rng: np.random.Generator) -> Batch:
    candidates = _candidates(batch, _SPIKE_CATEGORIES)
    rows = rng.choice(candidates, min(count, candidates.size), replace=False)
    # The user's usual amount in the category: the geometric mean over their rows there.
    key = batch.user[candidates].astype(np.int64) * len(CATEGORIES) + batch.category[candidates]
    unique, inverse = np.unique(key, return_inverse=True)
    usual = np.exp(np.bincount(inverse, weights=np.log(batch.amount[candidates])) / np.bincount(inverse))
    row_key = batch.user[rows].astype(np.int64) * len(CATEGORIES) + batch.category[rows]
    base = usual[np.searchsorted(unique, row_key)]
    out = batch.take(np.arange(len(batch)))
    out.amount[rows] = np.round(base * rng.uniform(5.0, 20.0, rows.size), 2)
    out.anomaly[rows] = _label("amount_spike")
    return out


def _card_or_upi(
    user: np.ndarray, acc: Accounts, rng: np.random.Generator, card_share: float
) -> tuple[np.ndarray, np.ndarray]:
    on_card = rng.random(user.size) < card_share
    return paying_account(acc, user, on_card, 0.8, rng), np.where(on_card, ch("card"), ch("UPI"))


def _unusual_hour(
    batch: Batch, count: int, pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator
) -> Batch:
    pool = codes(NEW_MERCHANT_POOL)
    user = rng.integers(0, pop.n, count)
    merchant = rng.choice(pool, count)
    # Keys of (user, merchant) pairs already seen, among the pool's merchants only.
    in_pool = np.isin(batch.merchant, pool)
    seen = batch.user[in_pool].astype(np.int64) * len(vocabulary()) + batch.merchant[in_pool]
    for _ in range(5):
        clash = np.isin(user.astype(np.int64) * len(vocabulary()) + merchant, seen)
        merchant[clash] = rng.choice(pool, int(clash.sum()))
    fresh = ~np.isin(user.astype(np.int64) * len(vocabulary()) + merchant, seen)
    user, merchant = user[fresh], merchant[fresh]
    account, channel = _card_or_upi(user, acc, rng, 0.6)
    amount = np.clip(rng.lognormal(np.log(12_000), 0.7, user.size), 1_500, 90_000)
    return make_batch(
        user=user,
        account=account,
        day=rng.integers(0, tl.n_days, user.size),
        second=seconds_in_hours(rng.integers(1, 5, user.size), rng),
        amount=np.round(amount, 2),
        credit=False,
        category=cat("shopping"),
        merchant=merchant,
        channel=channel,
        anomaly=_label("unusual_hour_new_merchant"),
    )


def _velocity_bursts(
    events: int, pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator
) -> Batch:
    """``events`` bursts of 5-12 debits 10-120 seconds apart, mostly at one merchant."""
    size = rng.integers(5, 13, events)
    event = np.repeat(np.arange(events), size)
    user = rng.integers(0, pop.n, events)[event]
    start = rng.integers(0, 86_400 - 12 * 120, events)
    gaps = rng.integers(10, 121, event.size)
    gaps[np.concatenate([[0], np.cumsum(size)[:-1]])] = 0  # each burst starts at its start time
    elapsed = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[np.cumsum(size) - size], size)
    n_pool = len(VELOCITY_POOL)
    local = np.where(
        rng.random(event.size) < 0.7,
        rng.integers(0, n_pool, events)[event],
        rng.integers(0, n_pool, event.size),
    )
    on_card = (rng.random(events) < 0.6)[event]
    account = np.where(
        on_card, np.where(acc.card[user] >= 0, acc.card[user], acc.primary[user]), acc.primary[user]
    )
    base = rng.uniform(300, 5_000, events)[event]
    amount = np.where(
        rng.random(event.size) < 0.6,
        np.round(base, -2),
        np.round(base * rng.uniform(0.8, 1.2, event.size), 2),
    )
    return make_batch(
        user=user,
        account=account,
        day=rng.integers(0, tl.n_days, events)[event],
        second=start[event] + elapsed,
        amount=np.maximum(amount, 100.0),
        credit=False,
        category=_category_codes(VELOCITY_POOL)[local],
        merchant=codes(VELOCITY_POOL)[local],
        channel=np.where(on_card, ch("card"), ch("UPI")),
        anomaly=_label("velocity_burst"),
    )


def _foreign(count: int, pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    user = rng.integers(0, pop.n, count)
    account = paying_account(acc, user, np.ones(count, dtype=bool), 0.8, rng)
    pick = rng.integers(0, len(FOREIGN_MERCHANTS), count)
    day = rng.integers(0, tl.n_days, count)
    usd = np.round(np.clip(rng.lognormal(np.log(60), 0.8, count), 2, 2_000), 2)
    return make_batch(
        user=user,
        account=account,
        day=day,
        second=rng.integers(0, 86_400, count),
        amount=np.round(usd * usd_rate(day, tl.n_days) * _MARKUP, 2),
        credit=False,
        category=_category_codes(FOREIGN_MERCHANTS)[pick],
        merchant=codes(FOREIGN_MERCHANTS)[pick],
        channel=ch("card"),
        anomaly=_label("foreign_card_not_present"),
    )


def _duplicates(batch: Batch, count: int, rng: np.random.Generator) -> Batch:
    candidates = _candidates(batch, _DUPLICATE_CATEGORIES)
    candidates = candidates[np.isin(batch.channel[candidates], (ch("card"), ch("UPI")))]
    rows = batch.take(rng.choice(candidates, min(count, candidates.size), replace=False))
    rows.second = np.minimum(rows.second + rng.integers(20, 151, len(rows)), 86_399).astype(np.int32)
    rows.anomaly[:] = _label("duplicate_charge")
    return rows
