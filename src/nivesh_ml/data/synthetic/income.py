"""Money in: salaries, gig payouts, business receipts, pensions, allowances, P2P receipts, interest.

- Salaried and government staff: one ``salary`` credit (NEFT) on payday every month; a 3-12% raise
  each April; 30% get a March bonus of 0.5-2 months' pay (also on payday). A month is missed
  with the latent-risk income-shock probability (a job gap).
- Gig workers: weekly ``salary`` payouts from their platform (Monday or Tuesday), each
  income x 12/52 x Gamma(4, 1/4) (coefficient of variation 0.5); a shocked week pays nothing.
- Self-employed and business owners: ``business_income`` receipts, Poisson(4) or Poisson(6) a
  month, month level x lognormal(0, 0.35) (halved in a shock month), into the current account if any.
- Retired: ``pension`` on the 1st or the last working day. Students and homemakers: a monthly
  allowance (``p2p_transfer`` credit) from a parent or spouse on their payday.
- Everyone: P2P receipts (about 1.6 a month, median ₹500), quarterly savings interest, cashback
  (0.25 a month), and for about 35% of salaried users a year an income-tax refund in August-October.
"""

from __future__ import annotations

import numpy as np

from nivesh_ml.data.synthetic import catalog, credit
from nivesh_ml.data.synthetic.accounts import Accounts
from nivesh_ml.data.synthetic.batch import Batch, concat, hours_of, make_batch, poisson_rows
from nivesh_ml.data.synthetic.merchants import cat, ch, code, codes, person_names
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import LAST_WORKING_DAY, Population, occupation_code

__all__ = ["P2P_IN_MEDIAN", "P2P_IN_RATE", "income_batch", "pick_payees", "user_month_grid"]

P2P_IN_RATE = 1.6  # per user-month, before activity
P2P_IN_MEDIAN = 500.0


def income_batch(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """Every credit of income to the users' accounts over the window."""
    return concat(
        [
            _salaries(pop, acc, tl, rng),
            _pensions(pop, acc, tl, rng),
            _gig_payouts(pop, acc, tl, rng),
            _business_receipts(pop, acc, tl, rng),
            _allowances(pop, acc, tl, rng),
            _p2p_receipts(pop, acc, tl, rng),
            _interest(acc, tl, rng),
            _cashback(pop, acc, tl, rng),
            _tax_refunds(pop, acc, tl, rng),
        ]
    )


def user_month_grid(users: np.ndarray, n_months: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (user, month) pair of ``users`` and the window's months, flattened."""
    return np.repeat(users, n_months), np.tile(np.arange(n_months), users.size)


def pick_payees(
    pop: Population, user: np.ndarray, rng: np.random.Generator, known: float = 0.7
) -> np.ndarray:
    """A person per row: one of the user's frequent contacts (share ``known``) or anyone."""
    slot = np.searchsorted(np.cumsum([0.35, 0.25, 0.15, 0.1, 0.1]), rng.random(user.size), side="right")
    anyone = rng.choice(codes(person_names()), user.size)
    return np.where(rng.random(user.size) < known, pop.contacts[user, slot], anyone)


def _credits(
    user: np.ndarray,
    account: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    category: str,
    merchant: int | np.ndarray,
    channel: int | np.ndarray,
    hours: str,
    rng: np.random.Generator,
) -> Batch:
    return make_batch(
        user=user,
        account=account,
        day=day,
        second=hours_of(hours, user.size, rng),
        amount=amount,
        credit=True,
        category=cat(category),
        merchant=merchant,
        channel=channel,
    )


def _payday_rows(
    pop: Population, tl: Timeline, users: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, month, day) of each payday in the window for ``users``; the last working day for 31."""
    user, month = user_month_grid(users, tl.n_months)
    payday = pop.payday[user]
    day = np.where(payday == LAST_WORKING_DAY, tl.last_working_day()[month], tl.day_of(month, payday))
    keep = day >= 0
    return user[keep], month[keep], day[keep]


def _of(pop: Population, *occupations: str) -> np.ndarray:
    return np.flatnonzero(np.isin(pop.occupation, [occupation_code(o) for o in occupations]))


def _salaries(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    user, month, day = _payday_rows(pop, tl, _of(pop, "salaried", "government"))
    keep = rng.random(user.size) >= credit.income_shock_probability(pop.risk[user])
    user, month, day = user[keep], month[keep], day[keep]
    raise_rate = rng.uniform(0.03, 0.12, pop.n)[user]
    aprils = np.cumsum(tl.month_cal == 4)[month]  # raises so far in the window
    amount = pop.income[user] * (1 + raise_rate) ** aprils * rng.normal(1.0, 0.01, user.size)
    bonus = (tl.month_cal[month] == 3) & (rng.random(pop.n) < 0.3)[user]  # March bonus, on payday
    bonus_amount = pop.income[user[bonus]] * rng.uniform(0.5, 2.0, int(bonus.sum()))
    user, day = np.concatenate([user, user[bonus]]), np.concatenate([day, day[bonus]])
    amount = np.concatenate([amount, bonus_amount])
    return _credits(
        user,
        acc.primary[user],
        day,
        np.round(amount),
        "salary",
        pop.payer[user],
        ch("NEFT/IMPS"),
        "early",
        rng,
    )


def _pensions(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    user, _, day = _payday_rows(pop, tl, _of(pop, "retired"))
    amount = np.round(pop.income[user])
    return _credits(
        user, acc.primary[user], day, amount, "pension", pop.payer[user], ch("NEFT/IMPS"), "early", rng
    )


def _gig_payouts(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    gig = _of(pop, "gig_worker")
    payout_dow = rng.integers(0, 2, pop.n)  # Monday or Tuesday, per platform contract
    batches = []
    for dow in (0, 1):
        days = np.flatnonzero(tl.dow == dow)
        user, slot = user_month_grid(gig[payout_dow[gig] == dow], days.size)
        keep = rng.random(user.size) >= credit.income_shock_probability(pop.risk[user])
        user, day = user[keep], days[slot[keep]]
        amount = np.round(np.maximum(pop.income[user] * 12 / 52 * rng.gamma(4.0, 0.25, user.size), 50.0), 2)
        payout = _credits(
            user, acc.primary[user], day, amount, "salary", pop.payer[user], ch("NEFT/IMPS"), "early", rng
        )
        batches.append(payout)
    return concat(batches)


def _business_receipts(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    owners = _of(pop, "self_employed", "business_owner")
    rate = np.where(pop.occupation[owners] == occupation_code("business_owner"), 6.0, 4.0)
    level = rng.lognormal(0.0, 0.35, (owners.size, tl.n_months))
    shocked = rng.random(level.shape) < credit.income_shock_probability(pop.risk[owners])[:, None]
    level *= np.where(shocked, 0.5, 1.0)
    row, month = poisson_rows(rate[:, None] * tl.fraction()[None, :], rng)
    user = owners[row]
    day = tl.sample_days(np.where(tl.dow == 6, 0.3, 1.0), month, rng)  # fewer receipts on Sundays
    # Each receipt is a lognormal share of the month's income (E[exp(N(0, 0.6))] = 1.197).
    amount = pop.income[user] * level[row, month] * rng.lognormal(0.0, 0.6, user.size) / (rate[row] * 1.197)
    clients = codes(catalog.BUSINESS_PAYERS)
    regular = clients[rng.integers(0, clients.size, (pop.n, 3))]
    usual = rng.random(user.size) < 0.7
    merchant = np.where(usual, regular[user, rng.integers(0, 3, user.size)], rng.choice(clients, user.size))
    account = np.where(acc.current[user] >= 0, acc.current[user], acc.primary[user])
    channel = np.where(rng.random(user.size) < 0.55, ch("NEFT/IMPS"), ch("UPI"))
    return _credits(
        user, account, day, np.round(amount, 2), "business_income", merchant, channel, "office", rng
    )


def _allowances(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    user, _, day = _payday_rows(pop, tl, _of(pop, "student", "homemaker"))
    amount = np.maximum(np.round(pop.income[user] * rng.uniform(0.9, 1.1, user.size), -2), 500.0)
    parent = pop.contacts[user, 0]
    return _credits(user, acc.primary[user], day, amount, "p2p_transfer", parent, ch("UPI"), "social", rng)


def _p2p_receipts(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    user, month = poisson_rows(P2P_IN_RATE * pop.activity[:, None] * tl.fraction()[None, :], rng)
    day = tl.sample_days(np.where(tl.dow >= 5, 1.15, 1.0), month, rng)
    amount = P2P_IN_MEDIAN * (pop.income[user] / 40_000) ** 0.4 * rng.lognormal(0.0, 1.1, user.size)
    amount = np.maximum(np.where(rng.random(user.size) < 0.6, np.round(amount, -1), np.round(amount)), 10.0)
    payer = pick_payees(pop, user, rng, known=0.6)
    channel = np.where(rng.random(user.size) < 0.92, ch("UPI"), ch("NEFT/IMPS"))
    return _credits(user, acc.primary[user], day, amount, "p2p_transfer", payer, channel, "social", rng)


def _interest(acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """Quarterly savings interest, posted on the last day of March, June, September and December."""
    savings = np.flatnonzero(np.isin(acc.kind, (0, 1)))
    whole = tl.month_stop - tl.month_first == tl.month_len
    quarter_ends = np.flatnonzero(np.isin(tl.month_cal, (3, 6, 9, 12)) & whole)
    account, slot = user_month_grid(savings, quarter_ends.size)
    day = tl.month_stop[quarter_ends[slot]] - 1
    balance = np.maximum(acc.opening[account], 1_000.0) * rng.uniform(0.6, 1.4, account.size)
    amount = np.round(np.maximum(balance * acc.rate[account] / 400, 1.0), 2)
    label = code("Savings Interest")
    return _credits(acc.user[account], account, day, amount, "other_income", label, ch("bank"), "early", rng)


def _cashback(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    user, month = poisson_rows(np.full((pop.n, tl.n_months), 0.25) * tl.fraction()[None, :], rng)
    day = tl.sample_days(np.ones(tl.n_days), month, rng)
    amount = np.round(rng.uniform(5, 150, user.size))
    return _credits(
        user, acc.primary[user], day, amount, "other_income", code("Cashback"), ch("UPI"), "retail", rng
    )


def _tax_refunds(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    """About 35% of salaried users a year get an income-tax refund, in August, September or October."""
    months = np.flatnonzero(np.isin(tl.month_cal, (8, 9, 10)))
    user, slot = user_month_grid(_of(pop, "salaried"), months.size)
    pick = rng.random(user.size) < 0.35 / 3
    user, month = user[pick], months[slot[pick]]
    day = tl.sample_days(np.where(tl.dow < 5, 1.0, 0.0), month, rng)
    amount = np.round(pop.income[user] * rng.uniform(0.05, 0.6, user.size))
    label = code("Income Tax Refund")
    return _credits(
        user, acc.primary[user], day, amount, "other_income", label, ch("NEFT/IMPS"), "office", rng
    )
