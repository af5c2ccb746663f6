from __future__ import annotations

import pytest

from nivesh_ml.config import QualityBar
from nivesh_ml.tracking.gate import decide

AUC = QualityBar(metric="auc", threshold=0.75)
WAPE = QualityBar(metric="wape", threshold=0.3, higher_is_better=False)


def test_clears_the_bar_without_a_champion_becomes_champion() -> None:
    decision = decide(AUC, 0.8, None, 0.005)
    assert (decision.challenger, decision.champion, decision.outcome) == (True, True, "champion")
    assert "no champion" in decision.reason


def test_fails_the_bar_is_rejected_whatever_the_champion() -> None:
    decision = decide(AUC, 0.7, 0.6, 0.005)
    assert decision.outcome == "rejected"
    assert decision.reason == "fails the quality bar: auc 0.7000, needs >= 0.75"


def test_loses_to_the_champion_becomes_challenger_only() -> None:
    decision = decide(AUC, 0.80, 0.82, 0.005)
    assert decision.outcome == "challenger"
    assert "loses to champion 0.8200" in decision.reason


@pytest.mark.parametrize("candidate", [0.82, 0.816, 0.83])
def test_tie_within_tolerance_or_better_becomes_champion(candidate: float) -> None:
    assert decide(AUC, candidate, 0.82, 0.005).outcome == "champion"


def test_lower_is_better_metrics() -> None:
    assert decide(WAPE, 0.2, 0.25, 0.0).outcome == "champion"
    assert decide(WAPE, 0.28, 0.25, 0.0).outcome == "challenger"
    assert decide(WAPE, 0.31, None, 0.0).outcome == "rejected"
