"""Money moved between accounts and lenders: EMIs, credit-card bills, owner drawings, penalty fees.

- EMIs: NACH debits from the primary account on the loan's due day (2nd, 5th, 7th, 10th or 15th)
  each month from the month after the loan opened, for its tenure. In a late month (probability
  :func:`credit.late_probability`) the NACH bounces: "NACH Return Charges" (₹590) that day and the
  EMI paid 2-10 days later by netbanking.
- Credit cards: a statement at each month end (spend + carried balance + charges), paid the next
  month by the due day in full (probability :func:`credit.full_payer_probability`) or 5-60% of it;
  a late payment comes 1-12 days after the due day (30% of them not at all) with a "Late Payment
  Fee" (₹100-1,300 by balance slab); an unpaid balance accrues "Finance Charges" of 3.75% a month.
- Business owners with a current account move about 85% of each month's receipts to their
  savings in the first week of the next month (``self_transfer``, both sides).
- Risky users also pay "Min Balance Charges" and "Cheque Return Charges" now and then.
"""

from __future__ import annotations

import numpy as np

from nivesh_ml.data.synthetic import credit
from nivesh_ml.data.synthetic.accounts import LOAN_TYPES, Accounts
from nivesh_ml.data.synthetic.batch import Batch, concat, draw_channels, hours_of, make_batch
from nivesh_ml.data.synthetic.income import user_month_grid
from nivesh_ml.data.synthetic.merchants import bank_codes, cat, ch, code
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import Population

__all__ = ["emi_schedule", "monthly_emi", "transfers_batch"]

# Card late fees by statement balance: up to ₹100 nothing, up to ₹500 ₹100, ... above ₹50k ₹1,300.
_LATE_FEE_BOUNDS = np.array([100.0, 500.0, 5_000.0, 10_000.0, 25_000.0, 50_000.0])
_LATE_FEES = np.array([0.0, 100.0, 500.0, 600.0, 800.0, 1_100.0, 1_300.0])
_FINANCE_RATE = 0.0375


def transfers_batch(
    pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator, earlier: Batch
) -> Batch:
    """EMIs, card bills and charges, self transfers and penalty fees; ``earlier`` holds the card spends."""
    return concat(
        [
            _emis(pop, acc, tl, rng),
            _card_cycles(pop, acc, tl, rng, earlier),
            _self_transfers(acc, tl, rng, earlier),
            _penalties(pop, acc, tl, rng),
        ]
    )


def emi_schedule(acc: Accounts, tl: Timeline) -> tuple[np.ndarray, np.ndarray]:
    """(loan account, window month) of every EMI due inside the window."""
    loans = np.flatnonzero(np.isin(acc.kind, LOAN_TYPES))
    start_month = np.datetime64(tl.start, "M")
    first = (acc.opened_day[loans].astype("datetime64[M]") - start_month).astype(np.int64) + 1
    loan, month = user_month_grid(np.arange(loans.size), tl.n_months)
    keep = (month >= first[loan]) & (month < first[loan] + acc.tenure[loans][loan])
    return loans[loan[keep]], month[keep]


def monthly_emi(acc: Accounts, tl: Timeline, n_users: int) -> np.ndarray:
    """Each user's EMIs due in the window, per month on average."""
    loan, _ = emi_schedule(acc, tl)
    return np.bincount(acc.user[loan], weights=acc.emi[loan], minlength=n_users) / max(tl.n_months, 1)


def _fee_rows(
    account: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    label: str,
    acc: Accounts,
    rng: np.random.Generator,
) -> Batch:
    return make_batch(
        user=acc.user[account],
        account=account,
        day=day,
        second=hours_of("early", account.size, rng),
        amount=np.round(amount, 2),
        credit=False,
        category=cat("fees"),
        merchant=code(label),
        channel=ch("bank"),
    )


def _emis(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    loan, month = emi_schedule(acc, tl)
    day = tl.day_of(month, acc.due_day[loan])
    loan, day = loan[day >= 0], day[day >= 0]
    user = acc.user[loan]
    late = rng.random(loan.size) < credit.late_probability(pop.risk[user])
    paid_day = np.where(late, day + rng.integers(2, 11, loan.size), day)
    keep = paid_day < tl.n_days
    emi = make_batch(
        user=user[keep],
        account=acc.primary[user[keep]],
        day=paid_day[keep],
        second=np.where(
            late[keep], hours_of("office", int(keep.sum()), rng), hours_of("early", int(keep.sum()), rng)
        ),
        amount=acc.emi[loan[keep]],
        credit=False,
        category=cat("emi"),
        merchant=bank_codes("Loans")[acc.bank[loan[keep]]],
        channel=np.where(late[keep], ch("netbanking"), ch("auto_debit")),
    )
    bounce = _fee_rows(
        acc.primary[user[late]], day[late], np.full(int(late.sum()), 590.0), "NACH Return Charges", acc, rng
    )
    return concat([emi, bounce])


def _card_cycles(
    pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator, earlier: Batch
) -> Batch:
    """Month by month (a loop over months, vectorised over cards): statements, payments, fees."""
    cards, spend = _card_spend(acc, tl, earlier)
    risk = pop.risk[acc.user[cards]]
    charges = np.zeros_like(spend)
    outstanding = np.zeros(cards.size)
    months: list[Batch] = []
    for m in range(tl.n_months - 1):
        statement = outstanding + spend[:, m] + charges[:, m]
        paid, charges[:, m + 1], rows = _settle(statement, cards, risk, m, acc, tl, rng)
        outstanding = statement - paid
        months.append(rows)
    return concat(months)


def _card_spend(acc: Accounts, tl: Timeline, earlier: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Each user's main card, and what was spent on it in each month (cards x months)."""
    cards = acc.card[acc.card >= 0]
    position = np.full(acc.n, -1)
    position[cards] = np.arange(cards.size)
    on_card = (position[earlier.account] >= 0) & ~earlier.credit
    key = position[earlier.account[on_card]] * tl.n_months + tl.month_of(earlier.day[on_card])
    spend = np.bincount(key, weights=earlier.amount[on_card], minlength=cards.size * tl.n_months)
    return cards, spend.reshape(cards.size, tl.n_months)


def _settle(
    statement: np.ndarray,
    cards: np.ndarray,
    risk: np.ndarray,
    month: int,
    acc: Accounts,
    tl: Timeline,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, Batch]:
    """How month ``month``'s statements are paid next month: (amount paid, charges added, rows)."""
    n = cards.size
    due = tl.day_of(np.full(n, month + 1), acc.due_day[cards])
    owes = (statement > 100) & (due >= 0)
    full = rng.random(n) < credit.full_payer_probability(risk)
    late = rng.random(n) < credit.late_probability(risk)
    missed = late & (rng.random(n) < 0.3)
    share = np.where(full, 1.0, rng.uniform(0.05, 0.6, n)) * ~missed
    paid = np.where(owes, np.round(statement * share, 2), 0.0)
    pay_day = np.where(late, due + rng.integers(1, 13, n), np.maximum(due - rng.integers(0, 6, n), 0))
    pays = (paid > 0) & (pay_day < tl.n_days)
    late_fee = np.where(owes & late, _LATE_FEES[np.searchsorted(_LATE_FEE_BOUNDS, statement)], 0.0)
    finance = np.where(owes, np.round((statement - paid) * _FINANCE_RATE, 2), 0.0)
    fined = (late_fee > 0) & (due + 1 < tl.n_days)
    charged = finance > 0
    rows = concat(
        [
            _card_payments(cards[pays], pay_day[pays], paid[pays], late[pays], acc, rng),
            _fee_rows(cards[fined], due[fined] + 1, late_fee[fined], "Late Payment Fee", acc, rng),
            _fee_rows(
                cards[charged], np.full(int(charged.sum()), tl.month_stop[month + 1] - 1), finance[charged],
                "Finance Charges", acc, rng,
            ),
        ]
    )  # fmt: skip
    return paid, late_fee + finance, rows


def _card_payments(
    card: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    late: np.ndarray,
    acc: Accounts,
    rng: np.random.Generator,
) -> Batch:
    """Each bill payment twice: a debit from the primary account and a credit on the card."""
    user = acc.user[card]
    channel = draw_channels({"UPI": 0.45, "netbanking": 0.35, "auto_debit": 0.20}, card.size, rng)
    channel = np.where(
        late & (channel == ch("auto_debit")), ch("netbanking"), channel
    )  # autopay is never late
    merchant = np.where(channel == ch("UPI"), code("CRED"), bank_codes("Credit Card")[acc.bank[card]])
    bill = cat("credit_card_payment")
    paid = _pair_side(user, acc.primary[user], day, amount, False, bill, merchant, channel)
    received = _pair_side(user, card, day, amount, True, bill, code("Payment Received"), channel)
    paid.second = received.second = hours_of("social", card.size, rng)
    return concat([paid, received])


def _self_transfers(acc: Accounts, tl: Timeline, rng: np.random.Generator, earlier: Batch) -> Batch:
    currents = np.flatnonzero(acc.kind == 2)
    position = np.full(acc.n, -1)
    position[currents] = np.arange(currents.size)
    into = (position[earlier.account] >= 0) & (earlier.category == cat("business_income"))
    key = position[earlier.account[into]] * tl.n_months + tl.month_of(earlier.day[into])
    received = np.bincount(key, weights=earlier.amount[into], minlength=currents.size * tl.n_months)
    account, month = user_month_grid(currents, tl.n_months)
    amount = np.round(received * 0.85, -2)
    next_day = tl.day_of(np.minimum(month + 1, tl.n_months - 1), rng.integers(1, 8, month.size))
    keep = (amount > 0) & (month + 1 < tl.n_months) & (next_day >= 0)
    account, day, amount = account[keep], next_day[keep], amount[keep]
    user = acc.user[account]
    kind, label, channel = cat("self_transfer"), code("Self Transfer"), ch("NEFT/IMPS")
    out = _pair_side(user, account, day, amount, False, kind, label, channel)
    back = _pair_side(user, acc.primary[user], day, amount, True, kind, label, channel)
    out.second = back.second = hours_of("office", user.size, rng)
    return concat([out, back])


def _pair_side(
    user: np.ndarray,
    account: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    credit: bool,
    category: int,
    merchant: int | np.ndarray,
    channel: int | np.ndarray,
) -> Batch:
    """One side of a transfer between two accounts (the caller aligns the two sides' times)."""
    return make_batch(
        user=user,
        account=account,
        day=day,
        second=np.zeros(user.size, dtype=np.int32),
        amount=amount,
        credit=credit,
        category=category,
        merchant=merchant,
        channel=channel,
    )


def _penalties(pop: Population, acc: Accounts, tl: Timeline, rng: np.random.Generator) -> Batch:
    user, month = user_month_grid(np.arange(pop.n), tl.n_months)
    batches = []
    for label, shift, amounts in (
        ("Min Balance Charges", -4.8, (59.0, 118.0, 236.0, 354.0, 590.0)),
        ("Cheque Return Charges", -6.0, (354.0, 590.0)),
    ):
        pick = rng.random(user.size) < credit.sigmoid(shift + 1.5 * pop.risk[user]) * tl.fraction()[month]
        day = tl.sample_days(np.ones(tl.n_days), month[pick], rng)
        amount = rng.choice(np.asarray(amounts), int(pick.sum()))
        batches.append(_fee_rows(acc.primary[user[pick]], day, amount, label, acc, rng))
    return concat(batches)
