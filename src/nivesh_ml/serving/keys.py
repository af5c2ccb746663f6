"""API keys: created once, stored as a salted hash, checked in constant time, revocable.

A key reads ``nvk_<prefix>_<secret>`` (prefix 8 hex characters, secret 43 URL-safe ones: 256
random bits). The app DB's ``api_key`` row keeps the prefix, a random salt and
``sha256(salt + key)``; the key itself is shown once, by :func:`create_key`. Keys are random
and long, so one fast hash is enough (there is no password to brute-force).

The keys in ``Settings.api_keys`` are accepted too, with every scope. :class:`KeyChecker`
answers the server's question "who is this, and may they?", caching accepted keys for a few
seconds so most requests do not touch the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select

from nivesh_ml.config import Settings
from nivesh_ml.db import session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import ApiKey, utcnow
from nivesh_ml.errors import DataError
from nivesh_ml.serving.errors import AuthError, ForbiddenError

__all__ = ["SCOPES", "KeyChecker", "KeyInfo", "Principal", "create_key", "list_keys", "revoke_key"]

SCOPES: tuple[str, ...] = ("predict", "admin")
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


class KeyChecker:
    """Authenticates ``X-API-Key`` values: static keys first, then the app DB (cached briefly)."""

    def __init__(
        self, settings: Settings, *, cache_ttl_s: float, engine: Callable[[], Engine] | None = None
    ) -> None:
        self._static = [key.get_secret_value().encode() for key in settings.api_keys]
        self._engine = engine or (lambda: app_engine(settings))
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def authenticate(self, key: str | None) -> Principal:
        """The caller of ``key``; raises :class:`AuthError` for a missing, unknown or revoked key."""
        principal = self.without_db(key)
        return principal if principal is not None else self.with_db(key)

    def without_db(self, key: str | None) -> Principal | None:
        """The caller, when no database is needed to tell (a static or recently seen key); else None.

        Raises :class:`AuthError` for a key that is missing or malformed.
        """
        if not key:
            raise AuthError("missing API key: send it in the X-API-Key header")
        static = self._static_index(key)
        if static is not None:
            return Principal(f"static-{static}", f"static-{static}", frozenset(SCOPES))
        if _KEY.fullmatch(key) is None:
            raise AuthError("invalid API key")
        return self._cached(_fingerprint(key))

    def with_db(self, key: str | None) -> Principal:
        """The caller of a well-formed ``key``, looked up in the app DB (and cached)."""
        match = _KEY.fullmatch(key or "")
        if key is None or match is None:
            raise AuthError("invalid API key")
        principal = self._lookup(match["prefix"], key)
        if self._ttl > 0:
            with self._lock:
                self._cache[_fingerprint(key)] = (time.monotonic() + self._ttl, principal)
        return principal

    def authorize(self, principal: Principal, scope: str | None) -> None:
        """Raise :class:`ForbiddenError` unless the principal holds ``scope`` (None: any key will do)."""
        if scope is not None and scope not in principal.scopes:
            raise ForbiddenError(f"this API key lacks the {scope!r} scope this route needs")

    def clear(self) -> int:
        """Forget every cached key (a revocation then takes effect at once); how many there were."""
        with self._lock:
            count = len(self._cache)
            self._cache.clear()
        return count

    def _static_index(self, key: str) -> int | None:
        # Compare against every static key, so the time taken does not say which one nearly matched.
        given, found = key.encode(), None
        for index, static in enumerate(self._static):
            if hmac.compare_digest(given, static):
                found = index
        return found

    def _cached(self, fingerprint: str) -> Principal | None:
        with self._lock:
            entry = self._cache.get(fingerprint)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def _lookup(self, prefix: str, key: str) -> Principal:
        with session_scope(self._engine()) as session:
            row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
            if row is None or not hmac.compare_digest(_digest(row.salt, key), row.hash):
                raise AuthError("invalid API key")
            if row.revoked_at is not None:
                raise AuthError("this API key has been revoked")
            return Principal(str(row.id), row.name, frozenset(row.scopes))
