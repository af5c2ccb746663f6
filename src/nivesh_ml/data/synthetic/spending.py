"""Money out, at the user's discretion: shopping, food, travel, UPI transfers to people, cash.

For each category of :data:`profiles.SPEND`, a user-month count is Poisson with mean
rate x activity x taste (Gamma(2, 1/2)) x tier x demographic factor x month seasonality; each
transaction gets a day (weekday, festive and month-start weights), an hour (category profile),
a merchant (75% one of the user's three favourites), a channel and an account (card spends go
to the credit card with probability :func:`credit.card_share`, else the debit card).

Every user's amounts are scaled so that the expected monthly outflow (fixed bills and EMIs
included) is their spend ratio x income: amounts for a category therefore vary with income,
not only with the category's median. Shopping baskets are up to 30% larger on festive days;
4% of shopping and 2% of food-delivery debits are refunded 2-10 days later.
"""

from __future__ import annotations

import numpy as np

from nivesh_ml.data.synthetic import credit
from nivesh_ml.data.synthetic.accounts import Accounts, paying_account
from nivesh_ml.data.synthetic.batch import (
    Batch,
    concat,
    draw_channels,
    make_batch,
    poisson_rows,
    seconds_in_hours,
)
from nivesh_ml.data.synthetic.income import P2P_IN_MEDIAN, P2P_IN_RATE, pick_payees
from nivesh_ml.data.synthetic.merchants import (
    SPEND_MERCHANTS,
    bank_codes,
    cat,
    ch,
    codes,
    foreign_mask,
)
from nivesh_ml.data.synthetic.profiles import SPEND, Spend, hour_cdf
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import Population, occupation_code

__all__ = ["spending_batch"]

_REFUNDS = {"shopping": 0.04, "food_delivery": 0.02}
_FUEL_VEHICLE = np.array([1.0, 0.8, 3.5])  # amount factor: none, two-wheeler, car


def spending_batch(
    pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator, fixed: np.ndarray
) -> Batch:
    """All discretionary debits (and their refunds); ``fixed`` is each user's monthly bills + EMIs."""
    rates = np.stack([_rates(spec, pop, rng) for spec in SPEND], axis=1)
    # Owners with a current account only move 85% of their receipts to savings (see transfers).
    inflow_share = np.where(acc.current >= 0, 0.85, 1.0)
    scale = _budget_scale(pop, tl, rates, fixed, inflow_share)
    spend = concat([_category(spec, rates[:, i], scale, pop, acc, tl, rng) for i, spec in enumerate(SPEND)])
    return concat([spend, _refunds(spend, tl, rng)])


def _rates(spec: Spend, pop: Population, rng: np.random.Generator) -> np.ndarray:
    """Per user, the expected count a month before seasonality."""
    taste = rng.gamma(2.0, 0.5, pop.n)
    tier = np.array((0.0, *spec.tiers))[pop.tier]
    return np.asarray(
        spec.rate * pop.activity * taste * tier * _demographic(spec.category, pop), dtype=np.float64
    )


def _demographic(category: str, pop: Population) -> np.ndarray:
    occ, age = pop.occupation, pop.age.astype(np.float64)
    student, retired = occ == occupation_code("student"), occ == occupation_code("retired")
    factor = np.ones(pop.n)
    if category == "food_delivery":
        factor = np.where(age < 30, 1.35, np.where(age >= 55, 0.45, 1.0)) * np.where(retired, 0.6, 1.0)
    elif category == "fuel":
        factor = np.array([0.03, 1.0, 1.2])[pop.vehicle] * np.where(
            occ == occupation_code("gig_worker"), 2.5, 1.0
        )
    elif category == "healthcare":
        factor = 0.6 + age / 50
    elif category == "education":
        factor = np.where(student, 3.0, np.where(age < 30, 1.5, 1.0))
    elif category == "travel":
        factor = np.where(retired, 0.6, 1.0)
    elif category == "dining":
        factor = np.where(student, 1.1, np.where(retired, 0.6, 1.0))
    elif category == "shopping":
        factor = np.where(pop.female, 1.15, 1.0)
    elif category == "atm_withdrawal":
        factor = np.where(age >= 50, 1.4, 1.0)
    return factor


def _base_amount(spec: Spend, pop: Population, user: np.ndarray) -> np.ndarray:
    base = spec.median * (pop.income[user] / 40_000) ** spec.elasticity
    return np.asarray(
        base * (_FUEL_VEHICLE[pop.vehicle[user]] if spec.category == "fuel" else 1.0), dtype=np.float64
    )


def _merchant_table(category: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = SPEND_MERCHANTS[category]
    weights = np.array([m[1] for m in table])
    return codes([m[0] for m in table]), weights / weights.sum(), np.array([m[2] for m in table])


def _budget_scale(
    pop: Population, tl: Timeline, rates: np.ndarray, fixed: np.ndarray, inflow_share: np.ndarray
) -> np.ndarray:
    """Per user, the factor that makes expected outflow equal spend ratio x income."""
    everyone = np.arange(pop.n)
    expected = np.zeros(pop.n)
    for i, spec in enumerate(SPEND):
        season = float(np.mean(np.asarray(spec.months)[tl.month_cal - 1]))
        mult = 1.0
        if spec.category in SPEND_MERCHANTS:
            _, weights, mults = _merchant_table(spec.category)
            mult = float(weights @ mults)
        mean_amount = _base_amount(spec, pop, everyone) * mult * np.exp(spec.sigma**2 / 2)
        expected += rates[:, i] * season * mean_amount
    inflow = pop.income * inflow_share + P2P_IN_RATE * pop.activity * P2P_IN_MEDIAN * np.exp(1.1**2 / 2)
    target = np.maximum(pop.spend_ratio * inflow - fixed, 0.15 * inflow)
    return np.asarray(np.clip(target / np.maximum(expected, 1.0), 0.3, 3.0), dtype=np.float64)


def _category(
    spec: Spend,
    rate: np.ndarray,
    scale: np.ndarray,
    pop: Population,
    acc: Accounts,
    tl: Timeline,
    rng: np.random.Generator,
) -> Batch:
    season = np.asarray(spec.months)[tl.month_cal - 1] * tl.fraction()
    user, month = poisson_rows(rate[:, None] * season[None, :], rng)
    weights = (
        np.asarray(spec.dow)[tl.dow]
        * (1 + spec.festive * tl.festive)
        * (1 + spec.month_start * (tl.dom <= 7))
    )
    day = tl.sample_days(weights, month, rng)
    hour = np.searchsorted(hour_cdf(spec.hours), rng.random(user.size), side="right")
    merchant, mult = _merchants(spec.category, pop, acc, user, rng)
    amount = _base_amount(spec, pop, user) * mult * rng.lognormal(0.0, spec.sigma, user.size) * scale[user]
    if spec.category == "shopping":
        amount *= 1 + 0.3 * tl.festive[day]
    channel = np.where(foreign_mask()[merchant], ch("card"), draw_channels(spec.channels, user.size, rng))
    account = paying_account(acc, user, channel == ch("card"), credit.card_share(pop.risk[user]), rng)
    return make_batch(
        user=user,
        account=account,
        day=day,
        second=seconds_in_hours(hour, rng),
        amount=_round(amount, spec.category, channel, rng),
        credit=False,
        category=cat(spec.category),
        merchant=merchant,
        channel=channel,
    )


def _merchants(
    category: str, pop: Population, acc: Accounts, user: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A merchant code per row and its amount multiplier; favourites first."""
    if category == "p2p_transfer":
        return pick_payees(pop, user, rng, known=0.55), np.ones(user.size)
    if category == "atm_withdrawal":
        atms = bank_codes("ATM")
        own = acc.bank[acc.primary[user]]
        bank = np.where(rng.random(user.size) < 0.75, own, rng.integers(0, atms.size, user.size))
        return atms[bank], np.ones(user.size)
    merchant_codes, weights, mults = _merchant_table(category)
    favourites = rng.choice(weights.size, (pop.n, 3), p=weights)
    slot = np.searchsorted([0.5, 0.8], rng.random(user.size), side="right")
    local = np.where(
        rng.random(user.size) < 0.75, favourites[user, slot], rng.choice(weights.size, user.size, p=weights)
    )
    return merchant_codes[local], mults[local]


def _round(amount: np.ndarray, category: str, channel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rupees and paise as people pay them: cash in notes, UPI mostly whole rupees, cards to the paisa."""
    u = rng.random(amount.size)
    if category == "atm_withdrawal":
        return np.clip(np.where(u < 0.7, np.round(amount / 500) * 500, np.round(amount, -2)), 100.0, 25_000.0)
    if category == "p2p_transfer":
        rounded = np.where(
            u < 0.4,
            np.round(amount, -1),
            np.where((u < 0.65) & (amount > 300), np.round(amount, -2), np.round(amount)),
        )
        return np.maximum(rounded, 1.0)
    whole = (channel == ch("UPI")) & (u < 0.55)
    return np.maximum(np.where(whole, np.round(amount), np.round(amount, 2)), 1.0)


def _refunds(spend: Batch, tl: Timeline, rng: np.random.Generator) -> Batch:
    """Some shopping and food-delivery debits come back, whole or in part, 2-10 days later."""
    p = np.zeros(len(spend))
    for category, share in _REFUNDS.items():
        p[spend.category == cat(category)] = share
    rows = spend.take(rng.random(len(spend)) < p)
    day = rows.day + rng.integers(2, 11, len(rows))
    keep = day < tl.n_days
    rows, day = rows.take(keep), day[keep]
    partial = rng.random(len(rows)) < 0.3
    amount = np.where(partial, np.round(rows.amount * rng.uniform(0.2, 0.9, len(rows)), 2), rows.amount)
    return make_batch(
        user=rows.user,
        account=rows.account,
        day=day,
        second=seconds_in_hours(rng.integers(9, 21, len(rows)), rng),
        amount=np.maximum(amount, 1.0),
        credit=True,
        category=cat("refund"),
        merchant=rows.merchant,
        channel=rows.channel,
    )
