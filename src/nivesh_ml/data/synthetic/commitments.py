"""Long-running commitments: insurance premiums, SIPs and investments, school fees, bank charges.

- Insurance: life cover for 28% of 25-60 year olds (LIC 55%; yearly, half-yearly or quarterly,
  0.4-1.5 months' income a year); health cover for about 20% (₹8k-35k a year, older pay more);
  motor cover for 70% of vehicle owners (₹1.2k-2.5k two-wheelers, ₹8k-25k cars), yearly.
- Investments: monthly SIPs by NACH (1-3 each, 2-7% of income, multiples of ₹500) for users with
  probability sigmoid(-0.3 - 0.8 z + ln(income / 40k)); risky investors stop theirs; lump sums
  to brokers in about 10% of investor-months.
- School fees: 38% of 30-55 year old earners pay quarterly (April, July, October, January).
- Routine bank charges (``fees``): quarterly SMS alerts, yearly debit-card and credit-card fees.
"""

from __future__ import annotations

import numpy as np

from nivesh_ml.data.synthetic import credit
from nivesh_ml.data.synthetic.accounts import Accounts, paying_account
from nivesh_ml.data.synthetic.batch import Batch, concat, draw_channels, hours_of, make_batch
from nivesh_ml.data.synthetic.bills import recurring
from nivesh_ml.data.synthetic.income import user_month_grid
from nivesh_ml.data.synthetic.merchants import (
    INSURANCE_MERCHANTS,
    INVESTMENT_MERCHANTS,
    SCHOOLS,
    cat,
    ch,
    code,
    codes,
)
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import Population, occupation_code

__all__ = ["commitments_batch", "investor_probability"]


def commitments_batch(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """Insurance, investments, school fees and routine bank charges over the window."""
    return concat(
        [
            _insurance(pop, acc, tl, rng),
            _sips(pop, acc, tl, rng),
            _lump_sums(pop, acc, tl, rng),
            _school_fees(pop, acc, tl, rng),
            _bank_charges(acc, tl, rng),
        ]
    )


def investor_probability(pop: Population) -> np.ndarray:
    """Probability that a user runs SIPs: richer and lower-risk users invest."""
    p = credit.sigmoid(-0.3 - 0.8 * pop.risk + np.log(pop.income / 40_000))
    return p * np.where(pop.occupation == occupation_code("student"), 0.3, 1.0)


def _rows(
    user: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    merchant: np.ndarray | int,
    channels: dict[str, float],
    category: str,
    acc: Accounts,
    rng: np.random.Generator,
    hours: str = "early",
) -> Batch:
    channel = draw_channels(channels, user.size, rng)
    return make_batch(
        user=user,
        account=paying_account(acc, user, channel == ch("card"), 0.8, rng),
        day=day,
        second=hours_of(hours, user.size, rng),
        amount=amount,
        credit=False,
        category=cat(category),
        merchant=merchant,
        channel=channel,
    )


_Policies = tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray
]  # holders, months per premium, premium, insurer


def _insurance(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """Premiums of every policy, each on a fixed day every 3, 6 or 12 months."""
    batches = []
    for holders, cycle, premium, insurer in (_life(pop, rng), _health(pop, rng), _motor(pop, rng)):
        for months in (12, 6, 3):
            subset = np.flatnonzero(cycle == months)
            h, _, day = recurring(tl, holders[subset], rng.integers(1, 29, subset.size), rng, every=months)
            amount = np.round(premium[subset][h])
            channels = {"auto_debit": 0.5, "netbanking": 0.3, "card": 0.2}
            batches.append(
                _rows(holders[subset][h], day, amount, insurer[subset][h], channels, "insurance", acc, rng)
            )
    return concat(batches)


def _life(pop: Population, rng: np.random.Generator) -> _Policies:
    holders = np.flatnonzero((pop.age >= 25) & (pop.age <= 60) & (rng.random(pop.n) < 0.28))
    cycle = rng.choice([12, 6, 3], holders.size, p=[0.5, 0.2, 0.3])
    premium = pop.income[holders] * rng.uniform(0.4, 1.5, holders.size) * cycle / 12
    others = rng.choice(codes(INSURANCE_MERCHANTS[1:4]), holders.size)
    return holders, cycle, premium, np.where(rng.random(holders.size) < 0.55, code("LIC"), others)


def _health(pop: Population, rng: np.random.Generator) -> _Policies:
    holders = np.flatnonzero(rng.random(pop.n) < 0.12 + 0.1 * (pop.income > 50_000))
    older = 1 + np.maximum(pop.age[holders] - 35, 0) / 25
    premium = rng.uniform(8_000, 20_000, holders.size) * older
    insurer = rng.choice(codes(INSURANCE_MERCHANTS[4:8]), holders.size)
    return holders, np.full(holders.size, 12), premium, insurer


def _motor(pop: Population, rng: np.random.Generator) -> _Policies:
    holders = np.flatnonzero((pop.vehicle > 0) & (rng.random(pop.n) < 0.7))
    car = pop.vehicle[holders] == 2
    premium = np.where(car, rng.uniform(8_000, 25_000, holders.size), rng.uniform(1_200, 2_500, holders.size))
    insurer = rng.choice(codes(INSURANCE_MERCHANTS[5:]), holders.size)
    return holders, np.full(holders.size, 12), premium, insurer


def _sips(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    investors = np.flatnonzero(rng.random(pop.n) < investor_probability(pop))
    count = rng.integers(1, 4, investors.size)
    sip_user = np.repeat(investors, count)
    start = rng.integers(-tl.n_months, tl.n_months, sip_user.size)
    # Risky investors stop their SIPs at some point in the window.
    stops = rng.random(sip_user.size) < credit.sigmoid(-1.5 + pop.risk[sip_user])
    stop = np.where(stops, rng.integers(0, max(tl.n_months, 1), sip_user.size), tl.n_months)
    dom = rng.choice([1, 5, 7, 10, 15, 20, 25], sip_user.size)
    h, _, day = recurring(tl, sip_user, dom, rng, active=(start, stop))
    user = sip_user[h]
    amount = np.maximum(
        np.round(pop.income[sip_user] * rng.uniform(0.02, 0.07, sip_user.size) / 500) * 500, 500.0
    )
    fund = rng.choice(codes(INVESTMENT_MERCHANTS), sip_user.size)
    return _rows(user, day, amount[h], fund[h], {"auto_debit": 1.0}, "investments", acc, rng)


def _lump_sums(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    investors = np.flatnonzero(rng.random(pop.n) < investor_probability(pop) * 0.8)
    user, month = user_month_grid(investors, tl.n_months)
    pick = rng.random(user.size) < 0.10 * tl.fraction()[month]
    user, month = user[pick], month[pick]
    day = tl.sample_days(np.ones(tl.n_days), month, rng)
    amount = np.round(pop.income[user] * rng.uniform(0.1, 0.6, user.size), -2)
    broker = rng.choice(codes(INVESTMENT_MERCHANTS[:4]), user.size)
    return _rows(
        user,
        day,
        np.maximum(amount, 100.0),
        broker,
        {"netbanking": 0.5, "UPI": 0.5},
        "investments",
        acc,
        rng,
        "office",
    )


def _school_fees(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    earner = ~np.isin(pop.occupation, [occupation_code("student"), occupation_code("retired")])
    parents = np.flatnonzero(earner & (pop.age >= 30) & (pop.age <= 55) & (rng.random(pop.n) < 0.38))
    user, month = user_month_grid(parents, tl.n_months)
    keep = np.isin(tl.month_cal[month], (1, 4, 7, 10))
    user, month = user[keep], month[keep]
    day = tl.day_of(month, rng.integers(1, 11, user.size))
    keep = day >= 0
    user, day = user[keep], day[keep]
    share = rng.uniform(0.2, 0.6, pop.n)[user]
    amount = np.minimum(np.round(pop.income[user] * share, -2), 150_000.0)
    school = rng.choice(codes(SCHOOLS), pop.n)[user]
    return _rows(
        user,
        day,
        amount,
        school,
        {"netbanking": 0.6, "UPI": 0.3, "card": 0.1},
        "education",
        acc,
        rng,
        "office",
    )


def _bank_charges(acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """SMS alert charges each quarter on 60% of primary accounts; yearly debit and credit card fees."""
    primary = np.unique(acc.primary)
    sms = primary[rng.random(primary.size) < 0.6]
    h, _, day = recurring(tl, sms, np.full(sms.size, 31), rng, every=3)
    sms_rows = (sms[h], day, np.full(h.size, 17.70), code("SMS Alert Charges"))
    h, _, day = recurring(tl, primary, rng.integers(1, 29, primary.size), rng, every=12)
    debit_fee = rng.choice([177.0, 236.0, 295.0, 590.0, 885.0], primary.size)[h]
    debit_rows = (primary[h], day, debit_fee, code("Debit Card Annual Fee"))
    cards = np.flatnonzero((acc.kind == 3) & (rng.random(acc.n) < 0.4))
    h, _, day = recurring(tl, cards, rng.integers(1, 29, cards.size), rng, every=12)
    card_fee = rng.choice([588.82, 1178.82, 1768.82, 3538.82], cards.size)[h]
    card_rows = (cards[h], day, card_fee, code("Credit Card Annual Fee"))
    batches = []
    for account, day, amount, merchant in (sms_rows, debit_rows, card_rows):
        batches.append(
            make_batch(
                user=acc.user[account],
                account=account,
                day=day,
                second=hours_of("early", account.size, rng),
                amount=amount,
                credit=False,
                category=cat("fees"),
                merchant=merchant,
                channel=ch("bank"),
            )
        )
    return concat(batches)
