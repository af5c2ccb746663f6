"""API keys: created once, stored hashed, checked per scope, revoked; over HTTP and directly."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.db import session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import ApiKey
from nivesh_ml.errors import DataError
from nivesh_ml.serving import create_key, list_keys, revoke_key
from nivesh_ml.serving.errors import AuthError, ForbiddenError
from nivesh_ml.serving.keys import KeyChecker

from .conftest import FAST, MakeClient


def _name() -> str:
    return f"key-{uuid.uuid4().hex[:8]}"


def test_only_a_salted_hash_is_stored(served_settings: Settings) -> None:
    name = _name()
    key = create_key(served_settings, name, ["predict"])
    assert key.startswith("nvk_")
    assert len(key) == 56
    with session_scope(app_engine(served_settings)) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.name == name)).one()
        stored = " ".join(str(value) for value in (row.prefix, row.hash, row.salt, row.scopes))
    assert key not in stored
    assert key.split("_")[2] not in stored
    assert row.prefix == key.split("_")[1]
    assert len(row.hash) == 64
    assert len(row.salt) == 32
    assert row.scopes == ["predict"]
    assert row.revoked_at is None
    # the same key again gets another salt, so equal keys would not even hash alike
    other = create_key(served_settings, name, ["predict"])
    assert other != key


def test_checker_accepts_the_key_with_its_scopes(served_settings: Settings) -> None:
    name = _name()
    key = create_key(served_settings, name, ["predict", "admin"])
    checker = KeyChecker(served_settings, cache_ttl_s=0)
    principal = checker.authenticate(key)
    assert (principal.name, principal.scopes) == (name, frozenset({"predict", "admin"}))
    checker.authorize(principal, "admin")


@pytest.mark.parametrize(
    "key",
    [None, "", "nope", "nvk_0000000_" + "a" * 43, "nvk_00000000_" + "a" * 43, "nvk_00000000_" + "a" * 44],
)
def test_missing_malformed_and_unknown_keys_are_refused(served_settings: Settings, key: str | None) -> None:
    with pytest.raises(AuthError):
        KeyChecker(served_settings, cache_ttl_s=0).authenticate(key)


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_refused(served_settings: Settings) -> None:
    key = create_key(served_settings, _name())
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with pytest.raises(AuthError, match="invalid API key"):
        KeyChecker(served_settings, cache_ttl_s=0).authenticate(forged)


def test_revoked_keys_are_refused_and_listed_as_revoked(served_settings: Settings) -> None:
    name = _name()
    key = create_key(served_settings, name)
    checker = KeyChecker(served_settings, cache_ttl_s=60)
    checker.authenticate(key)
    assert revoke_key(served_settings, name) == 1
    checker.authenticate(key)  # still cached for up to the TTL ...
    assert checker.clear() == 1  # ... until the cache is cleared
    with pytest.raises(AuthError, match="revoked"):
        checker.authenticate(key)
    listed = {info.name: info for info in list_keys(served_settings)}
    assert listed[name].revoked_at is not None
    with pytest.raises(DataError, match="no active API key"):
        revoke_key(served_settings, name)


def test_revoking_by_prefix(served_settings: Settings) -> None:
    key = create_key(served_settings, _name())
    assert revoke_key(served_settings, key.split("_")[1]) == 1


@pytest.mark.parametrize(
    ("name", "scopes"), [("ok", []), ("ok", ["root"]), ("", ["predict"]), ("a\nb", ["predict"])]
)
def test_bad_names_and_scopes_are_refused(served_settings: Settings, name: str, scopes: list[str]) -> None:
    with pytest.raises(DataError):
        create_key(served_settings, name, scopes)


def test_a_missing_scope_is_forbidden(served_settings: Settings) -> None:
    checker = KeyChecker(served_settings, cache_ttl_s=0)
    principal = checker.authenticate(create_key(served_settings, _name(), ["admin"]))
    with pytest.raises(ForbiddenError, match="'predict' scope"):
        checker.authorize(principal, "predict")


# --- over HTTP ---------------------------------------------------------------------------------


def test_every_route_but_health_and_metrics_needs_a_key(
    served_settings: Settings, make_client: MakeClient
) -> None:
    anonymous = make_client(served_settings, key=None)
    assert anonymous.get("/health").status_code == 200
    assert anonymous.get("/metrics").status_code == 200
    routes = [("GET", "/ready"), ("GET", "/models"), ("POST", "/predict/intent"), ("POST", "/feedback")]
    routes += [("POST", "/admin/reload"), ("POST", "/admin/cache/clear"), ("POST", "/assistant/chat")]
    for method, path in routes:
        response = anonymous.request(method, path, json={"query": "hi"})
        assert response.status_code == 401, path
        assert response.json() == {
            "error": "unauthorized",
            "message": "missing API key: send it in the X-API-Key header",
        }
        assert response.headers["WWW-Authenticate"] == "APIKey"
    wrong = anonymous.post("/predict/intent", json={"query": "hi"}, headers={"X-API-Key": "wrong"})
    assert wrong.status_code == 401


def test_scopes_per_route_over_http(served_settings: Settings, make_client: MakeClient) -> None:
    predict_only = make_client(served_settings, key=create_key(served_settings, _name(), ["predict"]))
    assert predict_only.post("/predict/intent", json={"query": "hi"}).status_code == 200
    assert predict_only.get("/models").status_code == 200
    forbidden = predict_only.post("/admin/reload")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "forbidden"
    admin_only = make_client(served_settings, key=create_key(served_settings, _name(), ["admin"]))
    assert admin_only.post("/predict/intent", json={"query": "hi"}).status_code == 403
    assert admin_only.post("/admin/cache/clear").status_code == 200


def test_a_revoked_key_is_refused_once_the_cache_is_cleared(
    served_settings: Settings, make_client: MakeClient
) -> None:
    name = _name()
    key = create_key(served_settings, name, ["predict", "admin"])
    client = make_client(served_settings, config=FAST, key=key)
    assert client.post("/predict/intent", json={"query": "hi"}).status_code == 200
    revoke_key(served_settings, name)
    refused = client.post("/predict/intent", json={"query": "hi"})
    assert refused.status_code == 401  # FAST has no key cache
    assert refused.json()["message"] == "this API key has been revoked"


def test_auth_failures_are_counted(served_settings: Settings, make_client: MakeClient) -> None:
    client = make_client(served_settings, key="wrong")
    client.post("/predict/intent", json={"query": "hi"})
    metrics = client.get("/metrics").text
    assert 'nivesh_auth_failures_total{reason="AuthError"} 1.0' in metrics
