"""Gate decisions, aliases, rollback and the app-DB mirror, on the embedded store and a real server."""

from __future__ import annotations

import contextlib

import pytest
from mlflow.exceptions import MlflowException
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelRegistry, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import ModelNotFoundError, PromotionRefused
from nivesh_ml.tracking.registry import apply_gate, champion_history, list_models, promote, rollback
from nivesh_ml.tracking.store import client

from .conftest import log_version

NAME = "nivesh-credit-risk"
EVAL = "e" * 64


def aliases(settings: Settings) -> dict[str, str]:
    found = {}
    for alias in ("champion", "challenger"):
        with contextlib.suppress(MlflowException):
            found[alias] = str(client(settings).get_model_version_by_alias(NAME, alias).version)
    return found


def mirror(settings: Settings) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """version -> (status, active deployments as (environment, traffic))."""
    with session_scope(app_engine(settings)) as session:
        rows = session.scalars(select(ModelRegistry).where(ModelRegistry.model_name == NAME)).all()
        return {
            row.version: (
                row.status,
                sorted(
                    (d.environment, d.traffic_percentage) for d in row.deployments if d.status == "active"
                ),
            )
            for row in rows
        }


def test_gate_moves_aliases_and_the_mirror_follows(tracking_settings: Settings) -> None:
    v1, _ = log_version(tracking_settings, offset=1)
    first = apply_gate(tracking_settings, "credit-risk", v1, {"auc": 0.80}, EVAL)
    assert first.outcome == "champion"
    assert aliases(tracking_settings) == {"champion": v1}
    assert mirror(tracking_settings) == {v1: ("production", [("production", 100)])}

    v2, _ = log_version(tracking_settings, offset=2)
    second = apply_gate(tracking_settings, "credit-risk", v2, {"auc": 0.78}, EVAL)
    assert (second.outcome, second.champion_score) == ("challenger", 0.80)
    assert aliases(tracking_settings) == {"champion": v1, "challenger": v2}
    assert mirror(tracking_settings) == {
        v1: ("production", [("production", 90)]),
        v2: ("staging", [("canary", 10)]),
    }

    v3, _ = log_version(tracking_settings, offset=3)
    assert apply_gate(tracking_settings, "credit-risk", v3, {"auc": 0.70}, EVAL).outcome == "rejected"
    assert aliases(tracking_settings) == {"champion": v1, "challenger": v2}
    tags = client(tracking_settings).get_model_version(NAME, v3).tags
    assert tags["nivesh.gate.outcome"] == "rejected"
    assert tags["nivesh.gate.reason"].startswith("fails the quality bar")

    v4, _ = log_version(tracking_settings, offset=4)
    assert (
        apply_gate(tracking_settings, "credit-risk", v4, {"auc": 0.797}, EVAL).outcome == "champion"
    )  # a tie
    assert aliases(tracking_settings) == {"champion": v4, "challenger": v2}
    assert champion_history(client(tracking_settings), NAME) == [v1, v4]
    assert mirror(tracking_settings) == {
        v1: ("archived", []),
        v2: ("staging", [("canary", 10)]),
        v3: ("staging", []),
        v4: ("production", [("production", 90)]),
    }
    run_tags = client(tracking_settings).get_run(client(tracking_settings).get_model_version(NAME, v4).run_id)
    assert run_tags.data.tags["nivesh.gate.outcome"] == "champion"
    assert run_tags.data.metrics["gate_champion_score"] == pytest.approx(0.80)

    assert rollback(tracking_settings, "credit-risk") == f"{NAME}: champion rolled back from v{v4} to v{v1}"
    assert aliases(tracking_settings)["champion"] == v1
    state = mirror(tracking_settings)
    assert state[v1] == ("production", [("production", 90)])
    assert state[v4] == ("archived", [])


def test_scores_on_other_data_are_not_compared(tracking_settings: Settings) -> None:
    v1, _ = log_version(tracking_settings, offset=1)
    apply_gate(tracking_settings, "credit-risk", v1, {"auc": 0.80}, EVAL)
    v2, _ = log_version(tracking_settings, offset=2)
    decision = apply_gate(tracking_settings, "credit-risk", v2, {"auc": 0.90}, "f" * 64)
    assert decision.outcome == "challenger"
    assert "other evaluation data" in decision.reason
    with pytest.raises(PromotionRefused, match="different data"):
        promote(tracking_settings, "credit-risk", v2)
    assert promote(tracking_settings, "credit-risk", v2, force=True).endswith("(forced)")
    assert aliases(tracking_settings) == {"champion": v2}


def test_manual_promotion_goes_through_the_gate(tracking_settings: Settings) -> None:
    v1, _ = log_version(tracking_settings, offset=1)
    apply_gate(tracking_settings, "credit-risk", v1, {"auc": 0.80}, EVAL)
    v2, _ = log_version(tracking_settings, offset=2)
    apply_gate(tracking_settings, "credit-risk", v2, {"auc": 0.76}, EVAL)
    with pytest.raises(PromotionRefused, match="loses to champion"):
        promote(tracking_settings, "credit-risk", v2)
    with pytest.raises(ModelNotFoundError, match="no version '99'"):
        promote(tracking_settings, "credit-risk", "99")


def test_rollback_needs_a_previous_champion(tracking_settings: Settings) -> None:
    v1, _ = log_version(tracking_settings, offset=1)
    apply_gate(tracking_settings, "credit-risk", v1, {"auc": 0.80}, EVAL)
    with pytest.raises(PromotionRefused, match="no previous champion"):
        rollback(tracking_settings, "credit-risk")


def test_list_models_shows_aliases_metric_and_dataset(tracking_settings: Settings) -> None:
    v1, data_hash = log_version(tracking_settings, offset=1)
    apply_gate(tracking_settings, "credit-risk", v1, {"auc": 0.8}, EVAL)
    [row] = list_models(tracking_settings)
    assert row["name"] == NAME
    assert row["version"] == v1
    assert row["aliases"] == "champion"
    assert row["metric"] == "auc 0.8000"
    assert row["dataset"] == data_hash[:12]
