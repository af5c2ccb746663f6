"""Monthly bills: rent, utilities and telecom, streaming and cloud subscriptions.

- Rent (38% of users: 55% / 40% / 25% in tier 1 / 2 / 3, half that over 45): on a fixed day of
  the 1st-5th, 17-32% of income (floor ₹6k / 4.5k / 3k by tier), 65% UPI, 25% NEFT/IMPS,
  10% on a credit card through a rent-pay platform; one 5-10% raise during the window.
- Electricity (about 75% of users): a fixed day each month (bimonthly in Tamil Nadu and
  Kerala), about ₹1,100 x (income / 40k)^0.5, summer (April-June) 1.45x, winter 0.8x.
- Mobile recharge (95%, ₹199-999 plans), broadband (about 40%), DTH (about 35%), LPG
  cylinders (70%, a booking in 65% of months).
- Subscriptions: Netflix, JioHotstar, Amazon Prime (40% of them yearly), Spotify, YouTube
  Premium, SonyLIV, ZEE5, Google One, Apple, Microsoft 365, each held for a contiguous run of
  months, on card mandates or UPI Autopay; about 1.1 subscriptions a user.
"""

from __future__ import annotations

import numpy as np

from nivesh_ml.data.synthetic import catalog
from nivesh_ml.data.synthetic.accounts import Accounts, paying_account
from nivesh_ml.data.synthetic.batch import Batch, concat, draw_channels, hours_of, make_batch
from nivesh_ml.data.synthetic.income import user_month_grid
from nivesh_ml.data.synthetic.merchants import (
    BILL_MERCHANTS,
    ELECTRICITY_BY_STATE,
    RENT_PLATFORMS,
    cat,
    ch,
    code,
    codes,
    person_names,
)
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import Population, occupation_code

__all__ = ["bills_batch", "recurring"]

_SEASON_POWER = np.array([0.8, 0.8, 1.0, 1.45, 1.45, 1.45, 1.15, 1.15, 1.15, 1.0, 0.8, 0.8])
_BIMONTHLY_STATES = ("Tamil Nadu", "Kerala")
# Service: (holding probability, plan prices, probability the plan is yearly).
_SUBSCRIPTIONS: dict[str, tuple[float, tuple[float, ...], float]] = {
    "Netflix": (0.20, (149, 199, 499, 649), 0.0),
    "JioHotstar": (0.24, (149, 299, 499), 0.0),
    "Amazon Prime": (0.27, (299,), 0.4),
    "Spotify": (0.13, (119, 149, 179), 0.0),
    "YouTube Premium": (0.08, (129, 149), 0.0),
    "SonyLIV": (0.05, (299,), 0.0),
    "ZEE5": (0.05, (99, 199), 0.0),
    "Google One": (0.11, (130, 210), 0.0),
    "Apple Services": (0.05, (99, 179), 0.0),
    "Microsoft 365": (0.04, (489, 619), 0.0),
}
_YEARLY_PRICE = {"Amazon Prime": 1499.0}


def bills_batch(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """Rent, utilities and subscriptions of every user over the window."""
    return concat(
        [
            _rent(pop, acc, tl, rng),
            _electricity(pop, acc, tl, rng),
            *[_plan_bill(name, pop, acc, tl, rng) for name in ("mobile", "broadband", "dth", "gas")],
            *[_subscription(name, pop, acc, tl, rng) for name in _SUBSCRIPTIONS],
        ]
    )


def recurring(
    tl: Timeline,
    holders: np.ndarray,
    dom: np.ndarray,
    rng: np.random.Generator,
    *,
    every: int = 1,
    active: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(holder position, month, day) of a payment due on day ``dom`` every ``every`` months.

    The phase of a multi-month cycle is drawn per holder; ``active`` limits each holder to
    months ``[start, stop)``; payments past the window's end are dropped.
    """
    h, month = user_month_grid(np.arange(holders.size), tl.n_months)
    phase = rng.integers(0, every, holders.size)
    keep = (month - phase[h]) % every == 0
    if active is not None:
        keep &= (month >= active[0][h]) & (month < active[1][h])
    day = tl.day_of(month, dom[h])
    keep &= day >= 0
    return h[keep], month[keep], day[keep]


def _rent(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    renters = np.flatnonzero(pop.renter)
    h, month, day = recurring(tl, renters, rng.integers(1, 6, renters.size), rng)
    user = renters[h]
    raise_month = rng.integers(0, max(tl.n_months, 1), renters.size)
    amount = pop.rent[user] * np.where(month >= raise_month[h], rng.uniform(1.05, 1.10, renters.size)[h], 1.0)
    channel = draw_channels({"UPI": 0.65, "NEFT/IMPS": 0.25, "card": 0.10}, user.size, rng)
    account = paying_account(acc, user, channel == ch("card"), 1.0, rng)
    channel = np.where((channel == ch("card")) & (account != acc.card[user]), ch("UPI"), channel)
    landlord = rng.choice(codes(person_names()), renters.size)[h]
    platform = rng.choice(codes(RENT_PLATFORMS), user.size)
    return make_batch(
        user=user,
        account=account,
        day=day,
        second=hours_of("social", user.size, rng),
        amount=np.round(amount, -1),
        credit=False,
        category=cat("rent"),
        merchant=np.where(channel == ch("card"), platform, landlord),
        channel=channel,
    )


def _electricity(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    board_of_city = codes([ELECTRICITY_BY_STATE[c.state] for c in catalog.CITIES])
    bimonthly_city = np.array([c.state in _BIMONTHLY_STATES for c in catalog.CITIES])
    pays = rng.random(pop.n) < np.where(pop.renter, 0.55, 0.85)  # many renters pay it with the rent
    batches = []
    for every, bimonthly in ((1, False), (2, True)):
        holders = np.flatnonzero(pays & (bimonthly_city[pop.city] == bimonthly))
        h, month, day = recurring(tl, holders, rng.integers(5, 26, holders.size), rng, every=every)
        user = holders[h]
        tier = np.array([0.0, 1.0, 0.85, 0.7])[pop.tier[user]]
        amount = (
            1_100 * every * (pop.income[user] / 40_000) ** 0.5 * tier * _SEASON_POWER[tl.month_cal[month] - 1]
        )
        amount *= rng.lognormal(0.0, 0.15, user.size)
        board = board_of_city[pop.city[user]]
        batches.append(_bill_rows(user, day, np.round(amount, 2), board, pop, acc, rng))
    return concat(batches)


def _bill_rows(
    user: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    merchant: np.ndarray,
    pop: Population,
    acc: Accounts,
    rng: np.random.Generator,
    category: str = "utilities",
) -> Batch:
    channel = draw_channels(
        {"UPI": 0.62, "netbanking": 0.13, "card": 0.15, "auto_debit": 0.10}, user.size, rng
    )
    return make_batch(
        user=user,
        account=paying_account(acc, user, channel == ch("card"), 0.8, rng),
        day=day,
        second=hours_of("retail", user.size, rng),
        amount=amount,
        credit=False,
        category=cat(category),
        merchant=merchant,
        channel=channel,
    )


def _plan_bill(name: str, pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """A telecom or gas bill: a plan price per holder, its merchant by market share."""
    plans = {
        "mobile": (199, 239, 299, 349, 399, 449, 599, 719, 859, 999),
        "broadband": (499, 589, 699, 799, 999, 1178, 1499),
        "dth": (253, 299, 349, 399, 450, 520, 599),
        "gas": (853, 903, 918, 1003, 1053),
    }[name]
    not_student = pop.occupation != occupation_code("student")
    p = {
        "mobile": np.full(pop.n, 0.95),
        "broadband": 0.12 + 0.22 * (pop.tier == 1) + 0.2 * (pop.income > 50_000),
        "dth": np.where(pop.age > 35, 0.45, 0.25) * np.where(pop.tier > 1, 1.2, 0.8),
        "gas": 0.7 * not_student,
    }[name]
    holders = np.flatnonzero(rng.random(pop.n) < p)
    h, month, day = recurring(tl, holders, rng.integers(1, 29, holders.size), rng)
    if name == "gas":  # a cylinder is booked in about two months of three
        keep = rng.random(h.size) < 0.65
        h, month, day = h[keep], month[keep], day[keep]
    user = holders[h]
    # Richer users pick dearer plans: rank income into the plan list with some noise.
    position = np.clip(
        np.log(pop.income[holders] / 15_000) / 2.5 + rng.normal(0, 0.2, holders.size), 0, 0.999
    )
    price = np.asarray(plans, dtype=np.float64)[(position * len(plans)).astype(int)][h]
    table = BILL_MERCHANTS[name]
    weights = np.array([w for _, w in table])
    merchant = rng.choice(codes([m for m, _ in table]), holders.size, p=weights / weights.sum())[h]
    return _bill_rows(user, day, price, merchant, pop, acc, rng)


def _subscription(name: str, pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """One streaming or cloud service: held for a run of months, billed monthly or yearly."""
    base, prices, yearly_share = _SUBSCRIPTIONS[name]
    p = base * np.array([0.0, 1.2, 0.9, 0.6])[pop.tier] * np.where(pop.age < 35, 1.3, 0.8)
    p *= np.where(pop.income > 60_000, 1.3, 1.0)
    holders = np.flatnonzero(rng.random(pop.n) < np.clip(p, 0, 0.9))
    yearly = rng.random(holders.size) < yearly_share
    start = rng.integers(-tl.n_months, tl.n_months, holders.size)
    stop = start + rng.geometric(1 / 14, holders.size)
    dom = rng.integers(1, 29, holders.size)
    monthly = recurring(tl, holders[~yearly], dom[~yearly], rng, active=(start[~yearly], stop[~yearly]))
    annual = recurring(tl, holders[yearly], dom[yearly], rng, every=12)
    h = np.concatenate([np.flatnonzero(~yearly)[monthly[0]], np.flatnonzero(yearly)[annual[0]]])
    day = np.concatenate([monthly[2], annual[2]])
    price = np.where(
        yearly, _YEARLY_PRICE.get(name, 0.0), rng.choice(np.asarray(prices, dtype=np.float64), holders.size)
    )
    user = holders[h]
    # Card mandates where a credit card is held, else UPI Autopay (or a debit-card mandate).
    on_card = rng.random(user.size) < np.where(acc.card[user] >= 0, 0.7, 0.35)
    return make_batch(
        user=user,
        account=paying_account(acc, user, on_card, 1.0, rng),
        day=day,
        second=hours_of("early", user.size, rng),
        amount=price[h],
        credit=False,
        category=cat("subscriptions"),
        merchant=code(name),
        channel=np.where(on_card, ch("card"), ch("UPI")),
    )
