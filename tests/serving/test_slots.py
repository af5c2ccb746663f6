"""Models from the registry: start-up without a model, hot reload, failed reload, /models, admin."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from nivesh_ml.config import Settings
from nivesh_ml.tracking.registry import rollback

from .conftest import FAST, USERS, MakeClient, put_features, wait_for
from .tiny_models import BrokenModel, NoServeModel, TinyModel, register


def _version(client: TestClient) -> str:
    response = client.post("/predict/intent", json={"query": "hi"})
    assert response.status_code == 200, response.text
    return str(response.json()["model_version"])


def _metric(client: TestClient, line: str) -> bool:
    return line in client.get("/metrics").text


def test_a_missing_model_is_503_with_the_reason_and_the_app_still_starts(
    fresh_settings: Settings, make_client: MakeClient
) -> None:
    register(fresh_settings, "intent", TinyModel("intent"))
    put_features(fresh_settings, USERS)  # an empty online store holds readiness back on its own
    client = make_client(fresh_settings)
    assert _version(client) == "1"
    response = client.post("/predict/ner", json={"text": "hi"})
    assert response.status_code == 503
    assert response.json() == {
        "error": "unavailable",
        "message": "nivesh-ner is not loaded: nivesh-ner has no version with alias 'champion'; "
        "train it with `nivesh-ml train ner` or `nivesh-ml models promote`",
    }
    ready = client.get("/ready")
    assert ready.status_code == 200  # an unregistered model does not hold readiness back
    assert ready.json()["components"]["models"]["ner"] == {
        "ok": True, "loaded": False, "version": None, "error": response.json()["message"].split(": ", 1)[1],
    }  # fmt: skip


def test_hot_reload_swaps_in_the_new_champion_and_survives_a_broken_one(
    fresh_settings: Settings, make_client: MakeClient
) -> None:
    register(fresh_settings, "intent", TinyModel("intent", "v1"))
    client = make_client(fresh_settings, config=replace(FAST, reload_interval_s=0.1))
    assert _version(client) == "1"
    register(fresh_settings, "intent", TinyModel("intent", "v2"), goodness=0.8)  # the poller finds it
    wait_for(lambda: _version(client) == "2")
    assert client.post("/predict/intent", json={"query": "hi"}).json()["served_by"] == "v2"
    assert _metric(client, 'nivesh_model_info{alias="champion",model="intent",version="2"} 1.0')
    assert not _metric(client, 'nivesh_model_info{alias="champion",model="intent",version="1"}')

    register(fresh_settings, "intent", BrokenModel("intent"), goodness=0.9)  # v3: champion, cannot load
    wait_for(
        lambda: _metric(client, 'nivesh_model_reload_failures_total{alias="champion",model="intent"} 1.0')
    )
    assert _version(client) == "2"  # the old version keeps serving
    champion = next(
        m for m in client.get("/models").json() if (m["model"], m["alias"]) == ("intent", "champion")
    )
    assert champion["version"] == "2"
    assert champion["error"].startswith("nivesh-intent v3 failed to load: ")
    assert "RuntimeError" not in champion["error"]  # no class names (nor paths) reach a client
    assert "weights file is missing" in champion["error"]
    # the broken version is not retried on every poll
    wait_for(
        lambda: _metric(
            client, 'nivesh_model_reloads_total{alias="champion",model="intent",result="failed"} 1.0'
        )
    )

    rollback(fresh_settings, "intent")  # champion back to v2: nothing to load, the error clears
    wait_for(lambda: next(m for m in client.get("/models").json() if m["model"] == "intent")["error"] is None)
    assert _version(client) == "2"


def test_admin_reload_loads_now_and_reports(fresh_settings: Settings, make_client: MakeClient) -> None:
    register(fresh_settings, "intent", TinyModel("intent", "v1"))
    client = make_client(fresh_settings)
    register(fresh_settings, "intent", TinyModel("intent", "v2"), goodness=0.8)
    assert _version(client) == "1"  # no poller in FAST
    report = client.post("/admin/reload").json()
    intent = next(r for r in report if (r["model"], r["alias"]) == ("intent", "champion"))
    expected = {"version": "2", "previous": "1", "changed": True, "error": None}
    assert intent == {"model": "intent", "alias": "champion", **expected}
    assert _version(client) == "2"
    assert client.post("/admin/cache/clear").json() == {"api_keys": 0}
    assert _version(client) == "2"


def test_a_model_without_serve_fails_to_load_and_readiness_says_so(
    fresh_settings: Settings, make_client: MakeClient
) -> None:
    register(fresh_settings, "anomaly", NoServeModel())
    client = make_client(fresh_settings)
    response = client.post("/predict/anomaly", json={"transaction": {}})
    assert response.status_code in (422, 503)
    ready = client.get("/ready")
    assert ready.status_code == 503
    anomaly = ready.json()["components"]["models"]["anomaly"]
    assert anomaly["ok"] is False
    assert "NoServeModel has no serve(request) method" in anomaly["error"]
    assert ready.json()["ready"] is False


def test_models_lists_versions_load_times_metrics_and_traffic(
    fresh_settings: Settings, make_client: MakeClient
) -> None:
    register(fresh_settings, "credit-risk", TinyModel("credit-risk", "v1"), goodness=0.5)
    register(fresh_settings, "credit-risk", TinyModel("credit-risk", "v2"), goodness=0.3)  # challenger
    client = make_client(fresh_settings)
    rows = {(m["model"], m["alias"]): m for m in client.get("/models").json()}
    champion, challenger = rows["credit-risk", "champion"], rows["credit-risk", "challenger"]
    assert (champion["version"], champion["traffic"], champion["error"]) == ("1", "main", None)
    assert champion["metric"] == "auc 0.8750"
    assert champion["loaded_at"] is not None
    assert (challenger["version"], challenger["traffic"]) == ("2", "canary 10%")
    assert challenger["metric"] == "auc 0.8250"
    assert rows["intent", "champion"]["version"] is None
    assert ("intent", "challenger") not in rows
