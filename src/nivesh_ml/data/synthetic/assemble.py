"""From coded batches to the public transactions frame: order, ids, running balances, narrations.

Rows are sorted by user, then timestamp (ties keep generation order), and numbered
``T0000000001``... in that order. ``timestamp`` is the local Indian (IST) wall-clock time, stored
tz-naive as ``datetime64[ns]``. ``balance_after`` is the running balance of savings, salary and
current accounts after the row (opening balance + cumulative signed amounts per account, in
timestamp order); it may be negative (an overdraft) and is NaN on credit-card rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nivesh_ml.data.synthetic.accounts import DEPOSIT_TYPES, Accounts
from nivesh_ml.data.synthetic.batch import Batch
from nivesh_ml.data.synthetic.merchants import ANOMALY_TYPES, CATEGORIES, CHANNELS, DIRECTIONS, vocabulary
from nivesh_ml.data.synthetic.narration import describe
from nivesh_ml.data.synthetic.timeline import Timeline
from nivesh_ml.data.synthetic.users import Population

__all__ = ["numbered_ids", "string_column", "transactions_frame"]


def numbered_ids(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix`` + a zero-padded running number from 1: ``U0000001``, ``U0000002``, ..."""
    width = max(width, len(str(n)))
    numbers = pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def string_column(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as a pandas ``string[pyarrow]`` array (no copy through Python objects)."""
    return pd.arrays.ArrowStringArray(pa.chunked_array([values.cast(pa.large_string())]))


def transactions_frame(
    b: Batch,
    pop: Population,
    acc: Accounts,
    tl: Timeline,
    rng: np.random.Generator,
    user_ids: pa.Array,
    account_ids: pa.Array,
) -> pd.DataFrame:
    """The public ``transactions`` frame of all rows of ``b``."""
    b = b.take(np.lexsort((tl.timestamp_ns(b.day, b.second), b.user)))
    ts = tl.timestamp_ns(b.day, b.second)
    return pd.DataFrame(
        {
            "txn_id": string_column(numbered_ids("T", len(b), 10)),
            "user_id": string_column(user_ids.take(pa.array(b.user))),
            "account_id": string_column(account_ids.take(pa.array(b.account))),
            "timestamp": ts.astype("datetime64[ns]"),
            "amount": b.amount,
            "direction": pd.Categorical.from_codes(b.credit.astype(np.int8), DIRECTIONS),
            "category": pd.Categorical.from_codes(b.category, CATEGORIES),
            "merchant": pd.Categorical.from_codes(b.merchant, vocabulary()),
            "channel": pd.Categorical.from_codes(b.channel, CHANNELS),
            "description": string_column(describe(b, pop, acc, tl, rng)),
            "balance_after": _balances(b, acc),
            "is_anomaly": b.anomaly > 0,
            "anomaly_type": pd.Categorical.from_codes(b.anomaly, ANOMALY_TYPES),
        }
    )


def _balances(b: Batch, acc: Accounts) -> np.ndarray:
    """Running balance per deposit account, in the rows' (time) order; NaN elsewhere."""
    by_account = np.argsort(b.account, kind="stable")
    account = b.account[by_account]
    signed = np.where(b.credit, b.amount, -b.amount)[by_account]
    running = np.cumsum(signed)
    first = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    before = np.repeat(running[first] - signed[first], np.diff(np.r_[first, account.size]))
    balance = np.empty(len(b))
    balance[by_account] = acc.opening[account] + (running - before)
    deposit = np.isin(acc.kind[b.account], DEPOSIT_TYPES)
    return np.where(deposit, np.round(balance, 2), np.nan)
