"""Synthetic bank accounts: deposits, credit cards and loans, with the terms that drive their rows.

Every user has one primary account (``salary`` for salaried and government staff, else
``savings``); 30% also keep a dormant second savings account; 45% of the self-employed and 85%
of business owners a ``current`` account (11% of users). Share of users holding (measured on
20k users): credit card 39% (more with income; a quarter of those over ₹60k a month hold two),
personal loan 9% (more with latent risk), home loan 7% (ages 28-55, by income), auto loan 13%
(45% of car owners, 10% of two-wheeler owners), education loan 3% (12% of young salaried
users and students). EMIs are 6-20% of income for personal loans (x exp(0.25 z)), 20-40% for
home loans, 6-15% for auto loans, 5-12% for education loans; the loan amount follows from EMI,
rate and tenure by the annuity formula. Credit limits are 1.5-4 months' income x exp(-0.25 z)
(at least ₹10k); card rates 36-42% a year, savings 2.5-4%.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nivesh_ml.data.synthetic import catalog, credit
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import Population, occupation_code

__all__ = [
    "ACCOUNT_TYPES",
    "DEPOSIT_TYPES",
    "LOAN_TYPES",
    "Accounts",
    "accounts_frame",
    "draw_accounts",
    "paying_account",
]

ACCOUNT_TYPES: tuple[str, ...] = (
    "savings",
    "salary",
    "current",
    "credit_card",
    "personal_loan",
    "home_loan",
    "auto_loan",
    "education_loan",
)
DEPOSIT_TYPES = (0, 1, 2)
LOAN_TYPES = (4, 5, 6, 7)
_CARD = 3
# Per loan type: EMI as a share of income (lo, hi), tenures in months, annual rate % (lo, hi).
_LOAN_TERMS: dict[int, tuple[tuple[float, float], tuple[int, ...], tuple[float, float]]] = {
    4: ((0.06, 0.20), (12, 24, 36, 48, 60), (10.5, 22.0)),
    5: ((0.20, 0.40), (180, 240), (8.35, 9.65)),
    6: ((0.06, 0.15), (36, 48, 60, 84), (8.7, 12.5)),
    7: ((0.05, 0.12), (60, 84, 120), (9.0, 12.5)),
}


@dataclass(frozen=True)
class Accounts:
    """Per-account arrays (index = account, sorted by user), and each user's key accounts."""

    user: np.ndarray
    kind: np.ndarray  # index into ACCOUNT_TYPES
    bank: np.ndarray  # index into catalog.BANKS
    opened_day: np.ndarray  # datetime64[D]
    last4: np.ndarray
    credit_limit: np.ndarray  # NaN unless a card
    loan_amount: np.ndarray  # NaN unless a loan
    emi: np.ndarray  # NaN unless a loan
    rate: np.ndarray  # annual interest rate, %
    due_day: np.ndarray  # EMI day or card bill due day (0: none)
    tenure: np.ndarray  # months (0 unless a loan)
    opening: np.ndarray  # opening balance of deposit accounts (NaN otherwise)
    primary: np.ndarray  # per user: the primary deposit account
    current: np.ndarray  # per user: the current account or -1
    card: np.ndarray  # per user: the main credit card or -1

    @property
    def n(self) -> int:
        """The number of accounts."""
        return int(self.user.size)


def draw_accounts(pop: Population, timeline: Timeline, rng: np.random.Generator) -> Accounts:
    """Draw every user's accounts and their terms."""
    parts = _holdings(pop, rng)
    user = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([np.full(p[0].size, p[1], dtype=np.int8) for p in parts])
    order = np.lexsort((kind, user))
    user, kind = user[order].astype(np.int32), kind[order]
    n = user.size
    bank_weights = np.array([b.weight for b in catalog.BANKS])
    card_weights = np.array([b.card_weight for b in catalog.BANKS])
    bank = np.where(
        kind == _CARD,
        rng.choice(len(catalog.BANKS), n, p=card_weights / card_weights.sum()),
        rng.choice(len(catalog.BANKS), n, p=bank_weights / bank_weights.sum()),
    ).astype(np.int8)
    terms = _terms(pop, timeline, user, kind, rng)
    first = _first_of(user, kind, pop.n)
    return Accounts(
        user=user,
        kind=kind,
        bank=bank,
        last4=rng.integers(0, 10_000, n).astype(np.int16),
        primary=first[0],
        current=first[2],
        card=first[_CARD],
        **terms,
    )


def accounts_frame(acc: Accounts, account_ids: pd.Series, user_ids: pd.Series) -> pd.DataFrame:
    """The public ``accounts`` frame."""
    return pd.DataFrame(
        {
            "account_id": account_ids.array,
            "user_id": user_ids.array.take(acc.user),
            "bank": pd.Categorical.from_codes(acc.bank, [b.name for b in catalog.BANKS]),
            "account_type": pd.Categorical.from_codes(acc.kind, ACCOUNT_TYPES),
            "masked_number": pd.array(
                np.char.add("XXXX", np.char.zfill(acc.last4.astype(str), 4)), dtype="string[pyarrow]"
            ),
            "opened_date": acc.opened_day.astype("datetime64[ns]"),
            "credit_limit": acc.credit_limit,
            "loan_amount": acc.loan_amount,
            "emi_amount": acc.emi,
            "interest_rate": acc.rate,
        }
    )


def paying_account(
    acc: Accounts,
    user: np.ndarray,
    on_card: np.ndarray,
    card_share: np.ndarray | float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The account each row is paid from: the credit card for card rows (if held, with probability
    ``card_share``), otherwise the primary account (UPI, netbanking, debit card)."""
    card = acc.card[user]
    use_card = on_card & (card >= 0) & (rng.random(user.size) < card_share)
    return np.asarray(np.where(use_card, card, acc.primary[user]), dtype=np.int32)


def _holdings(pop: Population, rng: np.random.Generator) -> list[tuple[np.ndarray, int]]:
    """(users holding it, account type) for each kind of holding; a user may hold several."""
    n, occ, income, age = pop.n, pop.occupation, pop.income, pop.age
    everyone = np.arange(n, dtype=np.int32)
    salaried = np.isin(occ, [occupation_code("salaried"), occupation_code("government")])
    current_p = np.select(
        [occ == occupation_code("self_employed"), occ == occupation_code("business_owner")], [0.45, 0.85], 0.0
    )
    card_p = credit.sigmoid(-0.4 + 1.5 * np.log(income / 40_000)) * np.where(
        occ == occupation_code("student"), 0.3, 1.0
    )
    has_card = rng.random(n) < card_p
    young = (age < 32) & np.isin(occ, [occupation_code("salaried"), occupation_code("student")])
    home_p = np.where((age >= 28) & (age <= 55), 0.25 * np.clip((income - 30_000) / 60_000, 0, 1), 0.0)
    auto_p = np.select([pop.vehicle == 2, pop.vehicle == 1], [0.45, 0.10], 0.0)
    personal_p = credit.sigmoid(-2.2 + 0.7 * pop.risk) * (income > 12_000)

    def holders(p: np.ndarray) -> np.ndarray:
        return everyone[rng.random(n) < p]

    return [
        (everyone[~salaried], 0),
        (everyone[salaried], 1),
        (holders(np.full(n, 0.30)), 0),
        (holders(current_p), 2),
        (everyone[has_card], _CARD),
        (everyone[has_card & (income > 60_000) & (rng.random(n) < 0.25)], _CARD),
        (holders(personal_p), 4),
        (holders(home_p), 5),
        (holders(auto_p), 6),
        (holders(np.where(young, 0.12, 0.0)), 7),
    ]


def _first_of(user: np.ndarray, kind: np.ndarray, n_users: int) -> dict[int, np.ndarray]:
    """Per account type, each user's first account of it (-1 if none); type 0 becomes the primary account."""
    out: dict[int, np.ndarray] = {}
    for k in (0, 1, 2, _CARD):
        first = np.full(n_users, -1, dtype=np.int32)
        index = np.flatnonzero(kind == k)
        holders, position = np.unique(user[index], return_index=True)
        first[holders] = index[position]
        out[k] = first
    out[0] = np.where(out[1] >= 0, out[1], out[0])  # a salary account, else the first savings account
    return out


def _loan_terms(
    timeline: Timeline,
    kind: np.ndarray,
    income: np.ndarray,
    risk: np.ndarray,
    rate: np.ndarray,
    opened: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EMI, loan amount and tenure of each loan (NaN, NaN, 0 elsewhere); sets loan rates and open dates."""
    n = kind.size
    emi, amount, tenure = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=np.int32)
    start = np.datetime64(timeline.start, "D")
    latest = (np.datetime64(timeline.end, "D") - start).astype(np.int64) - 45
    for k, (share, tenures, rates) in _LOAN_TERMS.items():
        m = kind == k
        count = int(m.sum())
        personal = k == 4  # the unsecured loan: riskier borrowers pay more and borrow more
        emi[m] = np.round(
            income[m] * rng.uniform(*share, count) * (np.exp(0.25 * risk[m]) if personal else 1.0)
        )
        tenure[m] = rng.choice(tenures, count)
        markup = 1.5 * risk[m] if personal else 0.0
        rate[m] = np.round(np.clip(rng.uniform(*rates, count) + markup, rates[0], 26.0), 2)
        monthly = rate[m] / 1200
        amount[m] = np.round(emi[m] * (1 - (1 + monthly) ** -tenure[m].astype(float)) / monthly, -3)
        # Every loan is live for part of the window: opened up to (tenure - 1) months before it,
        # or inside it up to 45 days before its end.
        opened[m] = start - rng.integers(-latest, np.maximum(tenure[m] - 1, 1) * 30)
    return emi, amount, tenure


def _terms(
    pop: Population, timeline: Timeline, user: np.ndarray, kind: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Opened dates, limits, loan amounts, EMIs, rates, due days, tenures and opening balances."""
    n = user.size
    income, risk = pop.income[user], pop.risk[user]
    start = np.datetime64(timeline.start, "D")
    opened = start - rng.integers(60, 3_650, n)
    is_card, is_loan = kind == _CARD, np.isin(kind, LOAN_TYPES)
    limit = np.where(
        is_card,
        np.maximum(np.round(income * rng.uniform(1.5, 4.0, n) * np.exp(-0.25 * risk), -4), 10_000),
        np.nan,
    )
    rate = np.where(kind == 2, 0.0, np.round(rng.uniform(2.5, 4.0, n), 2))
    rate = np.where(is_card, np.round(rng.uniform(36.0, 42.0, n), 2), rate)
    emi, amount, tenure = _loan_terms(timeline, kind, income, risk, rate, opened, rng)
    due = np.where(is_loan, rng.choice([2, 5, 7, 10, 15], n, p=[0.15, 0.35, 0.2, 0.2, 0.1]), 0)
    due = np.where(is_card, rng.integers(2, 28, n), due)
    opening = np.where(
        np.isin(kind, DEPOSIT_TYPES), income * np.exp(rng.normal(0.6 - 0.5 * risk, 0.6)), np.nan
    )
    return {
        "opened_day": opened,
        "credit_limit": limit,
        "loan_amount": amount,
        "emi": emi,
        "rate": rate,
        "due_day": due.astype(np.int8),
        "tenure": tenure,
        "opening": np.round(opening, 2),
    }
