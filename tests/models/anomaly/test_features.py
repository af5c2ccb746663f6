"""The per-transaction features: directions, fallbacks for unknown users, and people vs merchants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.models.anomaly.context import Debits, context_features
from nivesh_ml.models.anomaly.features import (
    FEATURES,
    Priors,
    StatsTable,
    Transactions,
    feature_matrix,
    lookup,
)

PRIORS = Priors(
    category_log_mean={"groceries": 6.0, "p2p_transfer": 6.5},
    category_log_std={"groceries": 0.8, "p2p_transfer": 1.2},
    category_spread={"groceries": 0.7},
    overall_log_mean=6.2,
    overall_log_std=1.0,
    overall_log_p99=10.0,
    night_share=0.05,
    channel_share={"UPI": 0.6, "card": 0.3},
    merchant_users={"DMart": 0.4, "Croma": 0.01},
    n_users=1_000,
)
ROW = {
    "debit_count_365d": 300,
    "debit_amount_mean_365d": 700.0,
    "debit_amount_std_365d": 900.0,
    "debit_amount_p99_365d": 6_000.0,
    "debit_amount_mean_groceries_365d": 450.0,
    "debit_amount_std_groceries_365d": 300.0,
    "night_share_365d": 0.0,
    "channel_share_upi_365d": 0.8,
    "channel_share_card_365d": 0.2,
    "channel_share_netbanking_365d": 0.0,
    "known_merchants_365d": ["DMart", "Swiggy"],
}


def _features(
    rows: list[dict[str, object]], stats_row: int = 0, row: dict[str, object] | None = ROW
) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    txns = Transactions.build(frame, np.full(len(frame), stats_row))
    empty = Debits.build([], np.array([], dtype="datetime64[ns]"), [], [])
    queries = Debits.build(frame["user_id"], frame["timestamp"], frame["merchant"], frame["amount"])
    context = context_features(
        empty,
        queries,
        np.zeros(len(frame), dtype=np.int64),
        windows_s=(3_600, 86_400),
        duplicate_s=600,
        includes_self=False,
    )
    return pd.DataFrame(feature_matrix(txns, StatsTable.from_row(row), context, PRIORS), columns=FEATURES)


def _txn(**changes: object) -> dict[str, object]:
    base = {
        "user_id": "u",
        "amount": 450.0,
        "merchant": "DMart",
        "category": "groceries",
        "timestamp": pd.Timestamp("2026-05-01 18:00"),
        "channel": "UPI",
    }
    return {**base, **changes}


def test_an_ordinary_debit_has_nothing_to_say() -> None:
    usual = _features([_txn()]).iloc[0]
    assert usual["amount_z"] == pytest.approx(np.exp(1.5 * 0.35))  # at the mean, z is half the spread
    assert usual.drop("amount_z").abs().sum() == 0


def test_amount_z_grows_with_the_amount() -> None:
    z = _features([_txn(amount=a) for a in (100.0, 450.0, 2_000.0, 9_000.0)])["amount_z"].tolist()
    assert z == sorted(z)
    assert z[0] == 1.0  # smaller than usual is not suspicious: z is floored at 0


def test_new_and_rare_merchants() -> None:
    rows = _features([_txn(merchant="Croma"), _txn(merchant="Nowhere"), _txn(merchant="DMart")])
    assert rows["new_merchant"].tolist() == [1.0, 1.0, 0.0]
    assert rows["merchant_rarity"].tolist() == [pytest.approx(100.0), pytest.approx(2_000.0), 0.0]


def test_people_are_never_new_merchants() -> None:
    row = _features([_txn(merchant="Ravi Kumar", category="p2p_transfer")]).iloc[0]
    assert row["new_merchant"] == 0.0
    assert row["merchant_rarity"] == 0.0


def test_a_user_without_history_is_scored_against_the_population() -> None:
    row = _features([_txn(merchant="Croma", amount=450.0)], stats_row=-1, row=None).iloc[0]
    assert row["new_merchant"] == 0.0  # no history is not evidence of novelty
    assert np.isfinite(row).all()


def test_night_and_channel_novelty() -> None:
    rows = _features([_txn(timestamp=pd.Timestamp("2026-05-01 03:00")), _txn(channel="netbanking")])
    assert rows["night_rarity"].iloc[0] == pytest.approx(np.log(302.0))
    assert rows["new_channel"].tolist() == [0.0, 1.0]


def test_lookup_agrees_for_few_and_many_keys() -> None:
    keys = np.array(["DMart", "x"] * 100, dtype=object)
    many = lookup(keys, PRIORS.merchant_users, 0.5)
    few = lookup(keys[:2], PRIORS.merchant_users, 0.5)
    assert many[:2].tolist() == few.tolist() == [0.4, 0.5]
