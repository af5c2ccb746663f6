"""Context counts from recent debits: velocity, duplicates, gaps, merchants seen since a snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nivesh_ml.models.anomaly.context import Debits, context_features

T0 = pd.Timestamp("2026-05-01 10:00:00")


def _debits(rows: list[tuple[str, int, str, float]]) -> Debits:
    return Debits.build(
        [r[0] for r in rows],
        [T0 + pd.Timedelta(seconds=r[1]) for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )


def _context(
    history: Debits, queries: Debits, *, includes_self: bool, since: int = 0
) -> dict[str, np.ndarray]:
    return context_features(
        history,
        queries,
        np.full(len(queries), since, dtype=np.int64),
        windows_s=(3_600, 86_400),
        duplicate_s=600,
        includes_self=includes_self,
    )


def test_serving_counts_the_recent_debits_of_the_same_user() -> None:
    history = _debits(
        [("u", -7_200, "A", 10.0), ("u", -1_800, "B", 20.0), ("u", -60, "B", 99.0), ("v", -10, "B", 5.0)]
    )
    query = _debits([("u", 0, "B", 99.0)])
    out = _context(history, query, includes_self=False)
    assert out["count_1h"].tolist() == [2]
    assert out["count_24h"].tolist() == [3]
    assert out["same_merchant_1h"].tolist() == [2]
    assert out["seconds_since_previous"].tolist() == [60.0]
    assert out["duplicate_seconds"].tolist() == [60.0]
    assert out["merchant_seen_since"].tolist() == [True]


def test_training_does_not_count_a_debit_against_itself() -> None:
    rows = [("u", 0, "A", 10.0), ("u", 30, "A", 10.0), ("u", 5_000, "C", 7.0)]
    both = _debits(rows)
    out = _context(both, both, includes_self=True)
    assert out["count_1h"].tolist() == [0, 1, 0]
    assert np.isinf(out["duplicate_seconds"][0])
    assert out["duplicate_seconds"][1] == 30.0
    assert out["seconds_since_previous"].tolist()[1:] == [30.0, 4_970.0]
    assert np.isinf(out["seconds_since_previous"][0])
    assert out["merchant_seen_since"].tolist() == [False, True, False]


def test_no_context_reads_as_nothing_recent() -> None:
    empty = _debits([])
    out = _context(empty, _debits([("u", 0, "A", 10.0)]), includes_self=False)
    assert out["count_1h"].tolist() == [0]
    assert np.isinf(out["seconds_since_previous"][0])
    assert np.isinf(out["duplicate_seconds"][0])
    assert out["merchant_seen_since"].tolist() == [False]


def test_merchants_paid_before_the_snapshot_do_not_count_as_seen_since() -> None:
    history = _debits([("u", -5_000, "A", 10.0)])
    query = _debits([("u", 0, "A", 12.0)])
    snapshot = int((T0 - pd.Timedelta(seconds=100)).value // 10**9)
    assert _context(history, query, includes_self=False, since=snapshot)["merchant_seen_since"].tolist() == [
        False
    ]
