"""API keys: created once, stored as a salted hash, checked in constant time, revocable.

A key reads ``nvk_<prefix>_<secret>`` (prefix 8 hex characters, secret 43 URL-safe ones: 256
random bits). The app DB's ``api_key`` row keeps the prefix, a random salt and
``sha256(salt + key)``; the key itself is shown once, by :func:`create_key`. Keys are random
and long, so one fast hash is enough (there is no password to brute-force).

The keys in ``Settings.api_keys`` are accepted too, with every scope. :class:`KeyChecker`
answers the server's question "who is this, and may they?" and keeps the app DB out of most
answers (every memory below holds at most 10,000 entries; keys by a hash, never in plain):

- an accepted key is trusted for ``api_key_cache_ttl_s`` (10 s) without asking the DB again;
- while the DB cannot answer (down, frozen: no answer within ``api_key_lookup_timeout_s``), a
  key it accepted in the last ``api_key_stale_ttl_s`` (1 h) keeps working from that last
  known-good decision; any other key is answered 503 with ``Retry-After``. Once the DB answers
  again it decides as before, so a revoked key stops at the first lookup after the outage;
- a refused key is remembered for five minutes (refused again without a lookup), and a client
  address that sends more than ``auth_failures_per_minute`` refused keys is answered 429 without
  a lookup until its minute is over: a flood of made-up keys costs a handful of DB queries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import SQLAlchemyError

from nivesh_ml.config import Settings
from nivesh_ml.db import session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import ApiKey, utcnow
from nivesh_ml.errors import DatabaseError, DataError
from nivesh_ml.log import get_logger
from nivesh_ml.serving.errors import AuthError, ForbiddenError, KeysUnavailableError, RateLimitedError

__all__ = ["SCOPES", "KeyChecker", "KeyInfo", "Principal", "create_key", "list_keys", "revoke_key"]

SCOPES: tuple[str, ...] = ("predict", "admin")
log = get_logger(__name__)

KEYS_UNAVAILABLE = "cannot check API keys: the app database is unavailable"
RETRY_AFTER_S = 5  # what a 503 for an unknown key during a DB outage tells the client to wait
REFUSED_TTL_S = 300.0  # how long a refused key is refused without asking the DB
REMEMBERED = 10_000  # the most keys (or client addresses) each memory holds
DB_PAUSE_S = 1.0  # after a lookup the DB could not answer, the next one waits this long
MAX_LOOKUPS = 8  # DB lookups at once; a frozen DB holds each until it thaws
_DB_DOWN = (DatabaseError, SQLAlchemyError, OSError, TimeoutError)
_KEY = re.compile(r"nvk_(?P<prefix>[0-9a-f]{8})_[A-Za-z0-9_-]{43}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id (for rate limits), name and scopes."""

    key_id: str
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class KeyInfo:
    """One stored key as listed (never the key itself)."""

    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None


def _fingerprint(key: str) -> str:
    # The cache is keyed by a hash, so the process holds no list of plain keys.
    return hashlib.sha256(key.encode()).hexdigest()


def _digest(salt: str, key: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + key.encode()).hexdigest()


def _check_scopes(scopes: Sequence[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise DataError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
    return sorted(set(scopes))


def create_key(settings: Settings, name: str, scopes: Sequence[str] = ("predict",)) -> str:
    """Create a key named ``name`` with ``scopes`` and return it; it is never shown again."""
    if not _NAME.fullmatch(name):
        raise DataError(f"key name {name!r}: use 1-128 letters, digits, spaces, '.', '_' or '-'")
    checked = _check_scopes(scopes)
    prefix, salt = secrets.token_hex(4), secrets.token_hex(16)
    key = f"nvk_{prefix}_{secrets.token_urlsafe(32)}"
    with session_scope(app_engine(settings)) as session:
        session.add(ApiKey(name=name, prefix=prefix, hash=_digest(salt, key), salt=salt, scopes=checked))
    return key


def revoke_key(settings: Settings, name_or_prefix: str) -> int:
    """Revoke the active keys whose name or prefix is ``name_or_prefix``; returns how many."""
    query = select(ApiKey).where(
        or_(ApiKey.name == name_or_prefix, ApiKey.prefix == name_or_prefix), ApiKey.revoked_at.is_(None)
    )
    with session_scope(app_engine(settings)) as session:
        rows = list(session.scalars(query))
        for row in rows:
            row.revoked_at = utcnow()
    if not rows:
        raise DataError(f"no active API key is named {name_or_prefix!r} or has that prefix")
    return len(rows)


def list_keys(settings: Settings) -> list[KeyInfo]:
    """Every stored key, oldest first."""
    with session_scope(app_engine(settings)) as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at))
        return [
            KeyInfo(
                row.name,
                row.prefix,
                tuple(row.scopes),
                row.created_at.isoformat(timespec="seconds"),
                row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else None,
            )
            for row in rows
        ]


V = TypeVar("V")


class _Memory(Generic[V]):
    """At most ``size`` entries, each forgotten ``ttl`` seconds after it was put (oldest out first)."""

    def __init__(self, ttl: float, size: int = REMEMBERED) -> None:
        self.ttl, self._size = ttl, size
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def put(self, key: str, value: V) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (time.monotonic() + self.ttl, value)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def pop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def keys(self) -> set[str]:
        with self._lock:
            return set(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _FailureLimit:
    """Refused keys per client address, counted in one-minute windows; 429 past ``per_minute``."""

    def __init__(self, per_minute: int, size: int = REMEMBERED) -> None:
        self._per_minute, self._size = per_minute, size
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()  # client: (window end, count)
        self._lock = threading.Lock()

    def check(self, client: str | None) -> None:
        """Raise :class:`RateLimitedError` when ``client`` used up its refused keys for this minute."""
        if client is None:
            return
        with self._lock:
            end, count = self._windows.get(client, (0.0, 0))
        left = end - time.monotonic()
        if left > 0 and count >= self._per_minute:
            retry = str(int(left) + 1)
            raise RateLimitedError(
                f"too many refused API keys from this address; try again in {retry} s",
                {"Retry-After": retry},
            )

    def add(self, client: str | None) -> None:
        if client is None:
            return
        now = time.monotonic()
        with self._lock:
            end, count = self._windows.pop(client, (0.0, 0))
            self._windows[client] = (end, count + 1) if end > now else (now + 60.0, 1)
            while len(self._windows) > self._size:
                self._windows.popitem(last=False)


class KeyChecker:
    """Authenticates ``X-API-Key`` values: static keys first, then the app DB; see the module docstring."""

    def __init__(
        self, settings: Settings, *, cache_ttl_s: float, engine: Callable[[], Engine] | None = None
    ) -> None:
        self._static = [key.get_secret_value().encode() for key in settings.api_keys]
        self._engine = engine or (lambda: app_engine(settings))
        self._fresh = _Memory[Principal](cache_ttl_s)  # trusted without asking the DB
        self._known = _Memory[Principal](settings.api_key_stale_ttl_s)  # used only while the DB is away
        self._refused = _Memory[str](REFUSED_TTL_S)
        self._failures = _FailureLimit(settings.auth_failures_per_minute)
        self._timeout = settings.api_key_lookup_timeout_s
        self._lookups = threading.BoundedSemaphore(MAX_LOOKUPS)
        self._pause_until = 0.0
        self._db_away = False  # logged once per outage

    def authenticate(self, key: str | None, client: str | None = None) -> Principal:
        """The caller of ``key``; raises :class:`AuthError` for a missing, unknown or revoked key.

        Raises :class:`RateLimitedError` when ``client`` sent too many refused keys, and
        :class:`~nivesh_ml.errors.DatabaseError` (503) when only the unreachable DB could tell.
        """
        principal = self.without_db(key)
        return principal if principal is not None else self.with_db(key, client)

    def without_db(self, key: str | None) -> Principal | None:
        """The caller, when no database is needed to tell (a static or recently seen key); else None.

        Raises :class:`AuthError` for a key that is missing or malformed, or refused moments ago.
        """
        if not key:
            raise AuthError("missing API key: send it in the X-API-Key header")
        static = self._static_index(key)
        if static is not None:
            return Principal(f"static-{static}", f"static-{static}", frozenset(SCOPES))
        if _KEY.fullmatch(key) is None:
            raise AuthError("invalid API key")
        fingerprint = _fingerprint(key)
        refused = self._refused.get(fingerprint)
        if refused is not None:
            raise AuthError(refused)
        return self._fresh.get(fingerprint)

    def with_db(self, key: str | None, client: str | None = None) -> Principal:
        """The caller of a well-formed ``key``, looked up in the app DB (see :meth:`authenticate`)."""
        match = _KEY.fullmatch(key or "")
        if key is None or match is None:
            raise AuthError("invalid API key")
        fingerprint = _fingerprint(key)
        self._failures.check(client)
        try:
            principal = self._ask_db(match["prefix"], key)
        except AuthError as error:
            self._refused.put(fingerprint, str(error))
            self._known.pop(fingerprint)
            self._failures.add(client)
            raise
        except _DB_DOWN as error:
            return self._without_the_db(fingerprint, error)
        if self._db_away:
            self._db_away = False
            log.info("the app database answers again: API keys are checked against it")
        self._fresh.put(fingerprint, principal)
        self._known.put(fingerprint, principal)
        return principal

    def authorize(self, principal: Principal, scope: str | None) -> None:
        """Raise :class:`ForbiddenError` unless the principal holds ``scope`` (None: any key will do)."""
        if scope is not None and scope not in principal.scopes:
            raise ForbiddenError(f"this API key lacks the {scope!r} scope this route needs")

    def clear(self) -> int:
        """Forget every remembered key, accepted or refused; returns how many accepted ones there were.

        A revocation then takes effect at once; during a DB outage every DB key then gets 503.
        """
        count = len(self._fresh.keys() | self._known.keys())
        for memory in (self._fresh, self._known, self._refused):
            memory.clear()
        return count

    def _static_index(self, key: str) -> int | None:
        # Compare against every static key, so the time taken does not say which one nearly matched.
        given, found = key.encode(), None
        for index, static in enumerate(self._static):
            if hmac.compare_digest(given, static):
                found = index
        return found

    def _without_the_db(self, fingerprint: str, error: Exception) -> Principal:
        """The last known-good decision on a key while the DB cannot answer; else a 503."""
        now = time.monotonic()
        if now >= self._pause_until:  # a lookup failed (not one skipped during the pause): pause again
            self._pause_until = now + DB_PAUSE_S
        if not self._db_away:
            self._db_away = True
            log.warning(
                "%s (%s): keys it accepted in the last %.0f s keep working, others are answered 503",
                KEYS_UNAVAILABLE,
                _first_line(error),
                self._known.ttl,
            )
        principal = self._known.get(fingerprint)
        if principal is None:
            raise _unavailable() from None
        return principal

    def _ask_db(self, prefix: str, key: str) -> Principal:
        """:meth:`_lookup` in a thread of its own, waited for at most ``api_key_lookup_timeout_s``.

        A frozen DB holds a query forever (TCP keeps the connection open), so the request does
        not wait for it; at most MAX_LOOKUPS threads wait on the DB at once.
        """
        if time.monotonic() < self._pause_until:
            raise DatabaseError("the app database failed a moment ago")
        if not self._lookups.acquire(timeout=self._timeout):
            raise DatabaseError(f"{MAX_LOOKUPS} key lookups are already waiting on the app database")
        answer: Future[Principal] = Future()
        lookup = threading.Thread(
            target=self._answer, args=(answer, prefix, key), name="nivesh-key-lookup", daemon=True
        )
        lookup.start()
        try:
            return answer.result(timeout=self._timeout)
        except TimeoutError:
            raise DatabaseError(f"no answer within {self._timeout:g} s") from None

    def _answer(self, answer: Future[Principal], prefix: str, key: str) -> None:
        try:
            answer.set_result(self._lookup(prefix, key))
        except Exception as error:  # handed to the waiting request, which sorts it
            answer.set_exception(error)
        finally:
            self._lookups.release()

    def _lookup(self, prefix: str, key: str) -> Principal:
        with session_scope(self._engine()) as session:
            row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
            if row is None or not hmac.compare_digest(_digest(row.salt, key), row.hash):
                raise AuthError("invalid API key")
            if row.revoked_at is not None:
                raise AuthError("this API key has been revoked")
            return Principal(str(row.id), row.name, frozenset(row.scopes))


def _unavailable() -> KeysUnavailableError:
    """The 503 of a key only the unreachable DB could check, with the ``Retry-After`` to send."""
    return KeysUnavailableError(KEYS_UNAVAILABLE, RETRY_AFTER_S)


def _first_line(error: Exception) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__
