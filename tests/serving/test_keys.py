"""API keys: created once, stored hashed, checked per scope, revoked; over HTTP and directly."""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select

from nivesh_ml.config import Settings
from nivesh_ml.db import session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import ApiKey
from nivesh_ml.errors import DatabaseError, DataError
from nivesh_ml.serving import create_key, list_keys, revoke_key
from nivesh_ml.serving.errors import AuthError, ForbiddenError, RateLimitedError, status_for
from nivesh_ml.serving.keys import KEYS_UNAVAILABLE, KeyChecker

from .conftest import FAST, STATIC_KEY, MakeClient, key_lookups


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


# --- the app DB away, and floods of made-up keys -------------------------------------------------


def _bogus_key() -> str:
    return f"nvk_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


class _Outage:
    """An engine factory for a KeyChecker whose app DB can be taken away (connection refused)."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.down = settings, False

    def __call__(self) -> Engine:
        if self.down:
            raise DatabaseError("cannot connect to the app database at postgresql://x@127.0.0.1:1/x")
        return app_engine(self.settings)


def _until_refused(checker: KeyChecker, key: str) -> AuthError:
    """Ask until the DB is asked again (after the pause that follows a failed lookup)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            checker.authenticate(key)
        except AuthError as error:
            return error
        time.sleep(0.05)
    pytest.fail("the key was never refused")


def test_a_db_outage_keeps_known_keys_working_and_answers_unknown_ones_503(
    served_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    name, outage = _name(), _Outage(served_settings)
    key, never_seen = create_key(served_settings, name), create_key(served_settings, _name())
    checker = KeyChecker(served_settings, cache_ttl_s=0, engine=outage)  # no cache: every check asks
    assert checker.authenticate(key).name == name
    outage.down = True
    with caplog.at_level(logging.WARNING, logger="nivesh_ml.serving.keys"):
        for _ in range(5):
            assert checker.authenticate(key).name == name  # the last known-good decision
            with pytest.raises(DatabaseError, match=KEYS_UNAVAILABLE) as refused:
                checker.authenticate(never_seen)
            assert status_for(refused.value) == 503
            assert vars(refused.value)["headers"] == {"Retry-After": "5"}
            assert checker.authenticate(STATIC_KEY).name == "static-0"  # static keys need no DB
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # one line per outage, no traceback
    # (the URL's user@host may be masked as an email once the log redactor is installed: not checked)
    assert warnings[0].startswith(f"{KEYS_UNAVAILABLE} (cannot connect to the app database at postgresql://")
    assert warnings[0].endswith("keys it accepted in the last 3600 s keep working, others are answered 503")
    revoke_key(served_settings, name)  # revoked while this server cannot see it
    assert checker.authenticate(key).name == name  # the documented bound: until the DB answers
    outage.down = False
    assert _until_refused(checker, key).args == ("this API key has been revoked",)
    assert checker.authenticate(never_seen).scopes == frozenset({"predict"})


def test_without_a_stale_ttl_an_outage_answers_every_db_key_503(served_settings: Settings) -> None:
    outage = _Outage(served_settings)
    settings = served_settings.model_copy(update={"api_key_stale_ttl_s": 0.0})
    checker = KeyChecker(settings, cache_ttl_s=0, engine=outage)
    key = create_key(served_settings, _name())
    checker.authenticate(key)
    outage.down = True
    with pytest.raises(DatabaseError, match=KEYS_UNAVAILABLE):
        checker.authenticate(key)


@pytest.fixture
def lookups(served_settings: Settings) -> Iterator[list[str]]:
    """The key lookups the app DB answers while the test runs."""
    yield from key_lookups(served_settings)


def test_a_thousand_made_up_keys_cost_a_handful_of_lookups(
    served_settings: Settings, lookups: list[str]
) -> None:
    checker = KeyChecker(served_settings, cache_ttl_s=10)
    limit = served_settings.auth_failures_per_minute
    outcomes: dict[str, int] = {}
    for _ in range(1_000):
        try:
            checker.authenticate(_bogus_key(), client="203.0.113.7")
        except (AuthError, RateLimitedError) as error:
            outcomes[type(error).__name__] = outcomes.get(type(error).__name__, 0) + 1
            retry = error.headers.get("Retry-After") if isinstance(error, RateLimitedError) else None
            assert retry is None or 0 < int(retry) <= 60
    assert outcomes == {"AuthError": limit, "RateLimitedError": 1_000 - limit}
    assert len(lookups) == limit
    # the same refused key again costs nothing; another address is not throttled
    repeated = _bogus_key()
    for _ in range(50):
        with pytest.raises(AuthError):
            checker.authenticate(repeated, client="198.51.100.1")
    assert len(lookups) == limit + 1


def test_a_flood_of_made_up_keys_over_http_is_answered_429(
    served_settings: Settings, make_client: MakeClient, lookups: list[str]
) -> None:
    client = make_client(served_settings, key=None)
    statuses = [
        client.post("/predict/intent", json={"query": "hi"}, headers={"X-API-Key": _bogus_key()}).status_code
        for _ in range(100)
    ]
    limit = served_settings.auth_failures_per_minute
    assert statuses == [401] * limit + [429] * (100 - limit)
    refused = client.get("/models", headers={"X-API-Key": _bogus_key()})  # the GET path, in deps.py
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert len(lookups) == limit
