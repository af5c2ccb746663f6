"""Canary split (share, stickiness, recorded version) and shadow scoring."""

from __future__ import annotations

from fastapi.testclient import TestClient

from nivesh_ml.config import Settings
from nivesh_ml.serving.traffic import in_canary

from .conftest import MakeClient, predictions, put_features, wait_for
from .tiny_models import TinyModel, register


def test_the_canary_share_over_2000_users_is_the_percentage() -> None:
    users = [f"U{n:07d}" for n in range(2_000)]
    for percentage, tolerance in ((10, 0.02), (25, 0.03), (50, 0.035)):
        share = sum(in_canary("credit-risk", user, percentage) for user in users) / len(users)
        assert abs(share - percentage / 100) <= tolerance, (percentage, share)
    assert not any(in_canary("credit-risk", user, 0) for user in users)
    assert all(in_canary("credit-risk", user, 100) for user in users)


def test_the_split_is_sticky_per_user_and_independent_per_model() -> None:
    users = [f"U{n:07d}" for n in range(2_000)]
    first = [in_canary("credit-risk", user, 10) for user in users]
    assert first == [in_canary("credit-risk", user, 10) for user in users]
    # a larger share keeps everyone already in the canary there
    assert all(in_canary("credit-risk", u, 30) for u, inside in zip(users, first, strict=True) if inside)
    other = [in_canary("spending", user, 10) for user in users]
    assert other != first


def _canary_home(settings: Settings, users: list[str]) -> None:
    register(settings, "credit-risk", TinyModel("credit-risk", "champion"), goodness=0.5)
    register(settings, "credit-risk", TinyModel("credit-risk", "challenger"), goodness=0.3)
    put_features(settings, users)


def test_canary_answers_its_share_and_logs_the_version_that_answered(
    fresh_settings: Settings, make_client: MakeClient
) -> None:
    users = [f"U{n:07d}" for n in range(200)]
    _canary_home(fresh_settings, users)
    client = make_client(fresh_settings)
    answers = {user: _credit(client, user) for user in users}
    challenger_users = {user for user, answer in answers.items() if answer["model_version"] == "2"}
    assert challenger_users == {user for user in users if in_canary("credit-risk", user, 10)}
    assert 8 <= len(challenger_users) <= 32  # 10% of 200, within 3 standard deviations
    assert all(answers[user]["served_by"] == "challenger" for user in challenger_users)
    # sticky: the same users land on the same side again
    again = sorted(users)[:20]
    assert all(_credit(client, u)["model_version"] == answers[u]["model_version"] for u in again)
    state = client.app.state.nivesh  # type: ignore[attr-defined]
    assert state.predlog.flush(10)
    logged = {str(row.id): version for row, version in predictions(fresh_settings)}
    assert all(logged[answer["prediction_id"]] == answer["model_version"] for answer in answers.values())
    by_challenger = len(challenger_users) + sum(user in challenger_users for user in again)
    labels = 'model="credit-risk",outcome="ok",role="challenger",version="2"'
    assert f"nivesh_predictions_total{{{labels}}} {by_challenger}.0" in client.get("/metrics").text


def _credit(client: TestClient, user: str) -> dict[str, str]:
    response = client.post("/predict/credit-risk", json={"user_id": user})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_shadow_answers_with_the_champion_and_logs_the_challenger(
    fresh_settings: Settings, make_client: MakeClient
) -> None:
    settings = fresh_settings.model_copy(update={"canary_traffic_percentage": 0})  # challenger in shadow
    users = [f"U{n:07d}" for n in range(20)]
    _canary_home(settings, users)
    client = make_client(settings)
    rows = {(m["model"], m["alias"]): m for m in client.get("/models").json()}
    assert rows["credit-risk", "challenger"]["traffic"] == "shadow"
    answers = [_credit(client, user) for user in users]
    assert {answer["model_version"] for answer in answers} == {"1"}

    def shadows() -> list[tuple[object, str]]:
        client.app.state.nivesh.predlog.flush(5)  # type: ignore[attr-defined]
        return [(row, v) for row, v in predictions(settings) if "shadow_of" in row.prediction]

    wait_for(lambda: len(shadows()) == len(users))
    champion_ids = {answer["prediction_id"] for answer in answers}
    for row, version in shadows():
        assert version == "2"
        assert row.prediction["shadow_of"] in champion_ids  # type: ignore[attr-defined]
        assert row.prediction["served_by"] == "challenger"  # type: ignore[attr-defined]
