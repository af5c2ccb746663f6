"""Online features in Redis, the production backend.

One hash per row, at ``{prefix}:{view}:v{version}:{entity_id}``: a field per feature holding
its msgpack-encoded value, plus ``__event_time__`` and ``__expires_at__`` (epoch microseconds,
as text). Batch reads and writes go in pipelines of :data:`CHUNK` rows per round trip. Each
view's refresh time is a field (``{view}:v{version}``) of the hash ``{prefix}:__views__``.

A row is replaced, never merged: each one's ``DEL`` + ``HSET`` + ``PEXPIREAT`` run inside
one ``MULTI``/``EXEC`` per chunk, so a reader never sees a row half-written or absent for a
moment while it is rewritten. Expiry is enforced on read from ``__expires_at__``; Redis
evicts the key :data:`EVICTION_GRACE` later, so a read just after expiry is counted as
``expired`` (not ``miss``), and a Redis clock running slightly ahead never drops a live row.

Every socket operation is bounded by ``timeout_s`` and retried once at most, so a Redis that
is down or stuck raises :class:`~nivesh_ml.errors.OnlineStoreUnavailable` in about a second.
Nothing connects until the first call.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
from prometheus_client import CollectorRegistry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, InvalidResponse, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.typing import EncodableT, FieldT

from nivesh_ml.errors import FeatureStoreError, OnlineStoreUnavailable
from nivesh_ml.features.online.base import (
    StoreBase,
    Stored,
    ViewKey,
    chunked,
    decode_value,
    encode_value,
)

__all__ = ["CHUNK", "DEFAULT_PREFIX", "EVICTION_GRACE", "RedisStore", "mask_url"]

DEFAULT_PREFIX = "nivesh:fs"
CHUNK = 500  # rows per pipeline round trip
EVICTION_GRACE = timedelta(seconds=5)
SCAN_COUNT = 1_000
_EVENT = "__event_time__"
_EXPIRES = "__expires_at__"
_EVENT_B = _EVENT.encode()
_EXPIRES_B = _EXPIRES.encode()
_VIEWS = "__views__"
# Move a live row's event time and expiry forward (never back); 1 if the row was live, else 0.
_TOUCH = """
local expires = redis.call('HGET', KEYS[1], '__expires_at__')
if not expires or tonumber(expires) <= tonumber(ARGV[3]) then return 0 end
local event = redis.call('HGET', KEYS[1], '__event_time__')
if not event or tonumber(ARGV[1]) > tonumber(event) then
    redis.call('HSET', KEYS[1], '__event_time__', ARGV[1])
end
if tonumber(ARGV[2]) > tonumber(expires) then
    redis.call('HSET', KEYS[1], '__expires_at__', ARGV[2])
    redis.call('PEXPIREAT', KEYS[1], ARGV[4])
end
return 1
"""
_MARK = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old or tonumber(ARGV[2]) > tonumber(old) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
"""
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
_PASSWORD_PARAM = re.compile(r"(password=)[^&]*")


def mask_url(url: str) -> str:
    """The Redis URL with its password replaced by ``***`` (safe for logs and messages)."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        url = urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
    return _PASSWORD_PARAM.sub(r"\1***", url)


class RedisStore(StoreBase):
    """Feature rows as Redis hashes with TTLs; see the module docstring for the layout."""

    backend = "redis"
    _driver_errors = (RedisError,)

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout_s: float = 0.5,
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(registry)
        if not prefix or timeout_s <= 0:
            raise FeatureStoreError(
                f"RedisStore needs a non-empty prefix and timeout_s > 0, got {prefix!r}, {timeout_s}"
            )
        self.url = mask_url(url)
        self.prefix = prefix
        self.timeout_s = timeout_s
        try:
            self._client = redis.Redis.from_url(
                url,
                socket_connect_timeout=timeout_s,
                socket_timeout=timeout_s,
                retry=Retry(NoBackoff(), 1),  # one quick retry for a stale pooled connection, no more
            )
        except ValueError as exc:
            raise FeatureStoreError(f"bad Redis URL {self.url}: {exc}; check NIVESH_REDIS_URL") from None
        self._touch_script = self._client.register_script(_TOUCH)
        self._mark_script = self._client.register_script(_MARK)

    def key(self, view: ViewKey, entity_id: str) -> str:
        """The Redis key of an entity's row."""
        return f"{self._key_base(view)}{entity_id}"

    def _key_base(self, view: ViewKey) -> str:
        return f"{self.prefix}:{view.name}:v{view.version}:"

    def _fetch(
        self, view: ViewKey, entity_ids: Sequence[str], features: list[str] | None
    ) -> list[Stored | None]:
        base = self._key_base(view)
        rows: list[Stored | None] = []
        for chunk in chunked(entity_ids, CHUNK):
            pipe = self._client.pipeline(transaction=False)
            for entity_id in chunk:
                if features is None:
                    pipe.hgetall(base + entity_id)
                else:
                    pipe.hmget(base + entity_id, [_EXPIRES, *features])
            replies = pipe.execute()
            if features is None:
                rows.extend(_from_hash(reply) for reply in replies)
            else:
                rows.extend(_from_values(reply, features) for reply in replies)
        return rows

    def _store(
        self, view: ViewKey, rows: list[tuple[str, dict[str, Any]]], event_us: int, expires_us: int
    ) -> None:
        base = self._key_base(view)
        meta = {_EVENT: str(event_us), _EXPIRES: str(expires_us)}
        evict_at_ms = (expires_us + EVICTION_GRACE // timedelta(microseconds=1)) // 1000
        for chunk in chunked(rows, CHUNK):
            pipe = self._client.pipeline(transaction=True)
            for entity_id, features in chunk:
                key = base + entity_id
                fields: dict[FieldT, EncodableT] = {
                    name: encode_value(value) for name, value in features.items()
                }
                fields.update(meta)
                pipe.delete(key)
                pipe.hset(key, mapping=fields)
                pipe.pexpireat(key, evict_at_ms)
            pipe.execute()

    def _touch(self, view: ViewKey, ids: list[str], event_us: int, expires_us: int, now_us: int) -> int:
        base = self._key_base(view)
        evict_at_ms = (expires_us + EVICTION_GRACE // timedelta(microseconds=1)) // 1000
        args = [event_us, expires_us, now_us, evict_at_ms]
        touched = 0
        for chunk in chunked(ids, CHUNK):
            pipe = self._client.pipeline(transaction=False)
            for entity_id in chunk:  # one key per call: each row is touched atomically
                self._touch_script(keys=[base + entity_id], args=args, client=pipe)
            touched += sum(int(reply) for reply in pipe.execute())
        return touched

    def _mark(self, view: ViewKey, at_us: int) -> None:
        self._mark_script(keys=[f"{self.prefix}:{_VIEWS}"], args=[str(view), at_us])

    def _marked(self, view: ViewKey) -> int | None:
        at = cast(bytes | None, self._client.hget(f"{self.prefix}:{_VIEWS}", str(view)))
        return None if at is None else int(at)

    def _remove(self, view: ViewKey, entity_ids: list[str]) -> int:
        base = self._key_base(view)
        removed = 0
        for chunk in chunked(entity_ids, CHUNK):
            removed += self._client.unlink(*(base + entity_id for entity_id in chunk))
        return removed

    def _scan(self, view: ViewKey, now_us: int) -> Iterator[str]:
        base = self._key_base(view).encode()
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self._key_base(view)) + "*"
        seen: set[bytes] = set()
        cursor = 0
        while True:
            cursor, keys = cast(
                tuple[int, list[bytes]], self._client.scan(cursor, match=pattern, count=SCAN_COUNT)
            )
            fresh = [key for key in dict.fromkeys(keys) if key not in seen]  # SCAN may repeat a key
            seen.update(fresh)
            for key in self._unexpired(fresh, now_us):
                yield key[len(base) :].decode()
            if cursor == 0:
                return

    def _unexpired(self, keys: list[bytes], now_us: int) -> list[bytes]:
        if not keys:
            return []
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.hget(key, _EXPIRES)
        expiries = pipe.execute()
        return [key for key, expires in zip(keys, expiries, strict=True) if expires and int(expires) > now_us]

    def _fetch_times(self, view: ViewKey, entity_id: str) -> tuple[int, int] | None:
        event, expires = cast(
            list[bytes | None], self._client.hmget(self.key(view, entity_id), [_EVENT, _EXPIRES])
        )
        if event is None or expires is None:
            return None
        return int(event), int(expires)

    def _ping(self) -> str:
        self._client.ping()
        return f"PONG from {self.url}"

    def _translate(self, exc: Exception) -> FeatureStoreError:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        if isinstance(exc, AuthenticationError):
            return OnlineStoreUnavailable(
                f"Redis at {self.url} refused the credentials ({reason});"
                " check the password in NIVESH_REDIS_URL"
            )
        if isinstance(exc, RedisConnectionError | RedisTimeoutError | InvalidResponse):
            return OnlineStoreUnavailable(
                f"cannot reach the online feature store's Redis at {self.url}"
                f" within {self.timeout_s:g} s ({reason}); check that the server is running"
                f" (redis-cli -u {self.url} ping) and NIVESH_REDIS_URL"
            )
        return FeatureStoreError(f"Redis at {self.url} could not serve the online feature store ({reason})")

    def _release(self) -> None:
        self._client.close()
        self._client.connection_pool.disconnect()


def _from_hash(reply: dict[bytes, bytes]) -> Stored | None:
    expires = reply.pop(_EXPIRES_B, None)
    if expires is None:  # no such key
        return None
    reply.pop(_EVENT_B, None)
    return int(expires), {name.decode(): decode_value(value) for name, value in reply.items()}


def _from_values(reply: list[bytes | None], features: list[str]) -> Stored | None:
    expires, *values = reply
    if expires is None:
        return None
    found = {
        name: decode_value(value) for name, value in zip(features, values, strict=True) if value is not None
    }
    return int(expires), found
