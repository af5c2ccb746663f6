"""Behaviour of the anomaly detector: expectations that must hold for any fitted version.

Minimum functionality: a debit just like the user's usual one (their usual amount in the
category, a merchant they know, their usual hour and channel) is never flagged, and credits
never are. Directional: a much larger amount, the same charge again a minute later, or a burst of
debits in the last minutes never lowers the score. Invariance: the user id itself does not matter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.data.synthetic import GeneratorConfig, generate
from nivesh_ml.features.builders import build_view
from nivesh_ml.features.definitions import CHANNELS, SPEND_CATEGORIES, get_view
from nivesh_ml.models.anomaly.config import quick_config
from nivesh_ml.models.anomaly.model import AnomalyDetector
from nivesh_ml.models.anomaly.train import fit_detector, split_features
from nivesh_ml.models.transactions import backfilled_sources

WHEN = pd.Timestamp("2026-11-02")


@pytest.fixture(scope="module")
def fitted() -> tuple[AnomalyDetector, list[dict[str, Any]]]:
    """A detector fitted on 300 users x 8 months, and 60 users' transaction_stats rows at the end."""
    config = quick_config()
    data = generate(GeneratorConfig(users=300, months=8, seed=13))
    sources = backfilled_sources(data.users, data.accounts, data.transactions)
    features, parts = split_features(sources, config)
    detector, _ = fit_detector(features.rows(parts["train"]), features.rows(parts["calibration"]), config)
    rows = build_view(get_view("transaction_stats"), sources, WHEN)
    rows = rows[rows["debit_count_365d"] >= 100].head(60)
    return AnomalyDetector(detector), rows.to_dict("records")


def _usual(row: dict[str, Any]) -> dict[str, Any]:
    """The user's most ordinary debit: a known merchant, their usual amount, hour and channel."""
    category = max(SPEND_CATEGORIES, key=lambda c: np.nan_to_num(row[f"debit_amount_mean_{c}_365d"], nan=-1))
    category = "groceries" if np.isfinite(row["debit_amount_mean_groceries_365d"]) else category
    channel = max(CHANNELS, key=lambda name: row[f"channel_share_{CHANNELS[name]}_365d"] or 0.0)
    hour = int(row["most_common_hour_365d"])
    return {
        "user_id": row["user_id"],
        "amount": float(row[f"debit_amount_mean_{category}_365d"]),
        "merchant": row["known_merchants_365d"][0],
        "category": category,
        "timestamp": (WHEN + pd.Timedelta(hours=hour, minutes=17)).isoformat(),
        "channel": channel,
    }


def test_a_usual_debit_is_never_flagged(fitted: tuple[AnomalyDetector, list[dict[str, Any]]]) -> None:
    model, rows = fitted
    flagged = [row["user_id"] for row in rows if model.score(_usual(row), features=row)["is_anomaly"]]
    assert flagged == []


def test_credits_are_never_flagged(fitted: tuple[AnomalyDetector, list[dict[str, Any]]]) -> None:
    model, rows = fitted
    for row in rows[:10]:
        refund = {**_usual(row), "amount": 1e7, "direction": "credit", "timestamp": "2026-11-02T03:00:00"}
        assert model.score(refund, features=row)["is_anomaly"] is False


def test_a_much_larger_amount_never_lowers_the_score(
    fitted: tuple[AnomalyDetector, list[dict[str, Any]]],
) -> None:
    model, rows = fitted
    for row in rows:
        usual = _usual(row)
        scores = [
            model.score({**usual, "amount": usual["amount"] * k}, features=row)["score"]
            for k in (1, 5, 20, 100)
        ]
        assert scores == sorted(scores)


def test_the_same_charge_a_minute_later_raises_the_score(
    fitted: tuple[AnomalyDetector, list[dict[str, Any]]],
) -> None:
    model, rows = fitted
    for row in rows:
        usual = _usual(row)
        earlier = {
            **usual,
            "timestamp": (pd.Timestamp(usual["timestamp"]) - pd.Timedelta(seconds=60)).isoformat(),
        }
        alone = model.score(usual, features=row)["score"]
        again = model.score(usual, features=row, context=[earlier])
        assert again["score"] > alone
        assert any("possible duplicate" in r or "debits within an hour" in r for r in again["reasons"])


def test_a_burst_of_debits_raises_the_score(fitted: tuple[AnomalyDetector, list[dict[str, Any]]]) -> None:
    model, rows = fitted
    for row in rows:
        usual = _usual(row)
        start = pd.Timestamp(usual["timestamp"])
        burst = [
            {
                **usual,
                "amount": 500.0 + i,
                "timestamp": (start - pd.Timedelta(seconds=40 * (i + 1))).isoformat(),
            }
            for i in range(8)
        ]
        assert (
            model.score(usual, features=row, context=burst)["score"]
            > model.score(usual, features=row)["score"]
        )


def test_the_user_id_itself_does_not_matter(fitted: tuple[AnomalyDetector, list[dict[str, Any]]]) -> None:
    model, rows = fitted
    usual = _usual(rows[0])
    assert model.score(usual, features=rows[0]) == model.score(
        {**usual, "user_id": "U9999999"}, features=rows[0]
    )
