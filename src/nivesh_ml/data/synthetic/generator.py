"""Generate the synthetic Nivesh data set: the stages, in order, from one configuration.

The output is a pure function of :class:`GeneratorConfig`: every stage draws from its own
random stream, seeded by ``(seed, stage)``, so the frames (and the Parquet files that
:mod:`storage` writes from them) are identical for the same configuration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from nivesh_ml.data.synthetic import credit
from nivesh_ml.data.synthetic.accounts import Accounts, accounts_frame, draw_accounts
from nivesh_ml.data.synthetic.anomalies import inject_anomalies
from nivesh_ml.data.synthetic.assemble import numbered_ids, string_column, transactions_frame
from nivesh_ml.data.synthetic.batch import Batch, concat
from nivesh_ml.data.synthetic.bills import bills_batch
from nivesh_ml.data.synthetic.commitments import commitments_batch
from nivesh_ml.data.synthetic.income import income_batch
from nivesh_ml.data.synthetic.spending import spending_batch
from nivesh_ml.data.synthetic.timeline import Timeline, build_timeline
from nivesh_ml.data.synthetic.transfers import monthly_emi, transfers_batch
from nivesh_ml.data.synthetic.users import Population, draw_population, users_frame
from nivesh_ml.errors import ConfigError

__all__ = ["STAGES", "TABLES", "GeneratorConfig", "SyntheticData", "generate"]

STAGES: tuple[str, ...] = (
    "users",
    "accounts",
    "income",
    "bills",
    "spending",
    "transfers",
    "anomalies",
    "statements",
    "credit labels",
)
TABLES: tuple[str, ...] = ("users", "accounts", "transactions", "credit_labels")
_MAX_MONTHS = 120


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate: how many users, how many months up to ``end_date``, from which seed."""

    users: int = 10_000
    months: int = 24
    seed: int = 42
    end_date: dt.date = dt.date(2026, 10, 31)  # fixed, never "today": the output must be reproducible

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ConfigError(f"users must be at least 1, got {self.users} (NIVESH_USERS)")
        if not 1 <= self.months <= _MAX_MONTHS:
            raise ConfigError(
                f"months must be between 1 and {_MAX_MONTHS}, got {self.months} (NIVESH_MONTHS)"
            )
        if self.seed < 0:
            raise ConfigError(f"seed must be 0 or more, got {self.seed} (NIVESH_SEED)")

    def to_json(self) -> dict[str, Any]:
        """The config as JSON-ready values (the date in ISO format)."""
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items()}


@dataclass
class SyntheticData:
    """The four frames of one generated data set and the config that made them."""

    config: GeneratorConfig
    users: pd.DataFrame
    accounts: pd.DataFrame
    transactions: pd.DataFrame
    credit_labels: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames by table name, in file order."""
        return {name: getattr(self, name) for name in TABLES}


def _rng(config: GeneratorConfig, stage: str) -> np.random.Generator:
    return np.random.default_rng([config.seed, STAGES.index(stage)])


def generate(config: GeneratorConfig, progress: Callable[[str], None] | None = None) -> SyntheticData:
    """Generate users, accounts, transactions and credit labels; ``progress(stage)`` after each stage."""
    done = progress or _ignore
    tl = build_timeline(config.end_date, config.months)
    pop = draw_population(config.users, tl, _rng(config, "users"))
    done("users")
    acc = draw_accounts(pop, tl, _rng(config, "accounts"))
    done("accounts")
    rows = _transaction_rows(config, pop, acc, tl, done)
    user_ids, account_ids = numbered_ids("U", pop.n, 7), numbered_ids("A", acc.n, 8)
    transactions = transactions_frame(rows, pop, acc, tl, _rng(config, "statements"), user_ids, account_ids)
    done("statements")
    users = pd.Series(string_column(user_ids))
    default = credit.default_labels(pop.risk, _rng(config, "credit labels"))
    labels = credit.credit_frame(users, pop.risk, default, config.end_date)
    done("credit labels")
    return SyntheticData(
        config=config,
        users=users_frame(pop, users),
        accounts=accounts_frame(acc, pd.Series(string_column(account_ids)), users),
        transactions=transactions,
        credit_labels=labels,
    )


def _ignore(stage: str) -> None:
    """The default progress callback: nothing to show."""


def _transaction_rows(
    config: GeneratorConfig, pop: Population, acc: Accounts, tl: Timeline, done: Callable[[str], None]
) -> Batch:
    """Every transaction as codes: income, bills, spending, transfers, then the injected anomalies."""
    income = income_batch(pop, acc, tl, _rng(config, "income"))
    done("income")
    bills_rng = _rng(config, "bills")
    bills = concat([bills_batch(pop, acc, tl, bills_rng), commitments_batch(pop, acc, tl, bills_rng)])
    done("bills")
    # Discretionary spending is sized to what bills and EMIs leave of the income.
    debits = ~bills.credit
    fixed = np.bincount(bills.user[debits], weights=bills.amount[debits], minlength=pop.n) / tl.n_months
    spending = spending_batch(pop, acc, tl, _rng(config, "spending"), fixed + monthly_emi(acc, tl, pop.n))
    done("spending")
    earlier = concat([income, bills, spending])
    transfers = transfers_batch(pop, acc, tl, _rng(config, "transfers"), earlier)
    done("transfers")
    rows = inject_anomalies(concat([earlier, transfers]), pop, acc, tl, _rng(config, "anomalies"))
    done("anomalies")
    return rows
