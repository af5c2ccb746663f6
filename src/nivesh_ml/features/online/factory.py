"""The one place a ``Settings`` becomes an online store."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from nivesh_ml.config import Settings
from nivesh_ml.features.online.base import OnlineStore
from nivesh_ml.features.online.redis_store import RedisStore
from nivesh_ml.features.online.sqlite_store import SQLiteStore

__all__ = ["SQLITE_FILE", "make_online_store"]

SQLITE_FILE = "online.sqlite"


def make_online_store(settings: Settings, *, registry: CollectorRegistry | None = None) -> OnlineStore:
    """The backend ``settings.online_store`` names: SQLite under ``features_dir``, or Redis at ``redis_url``.

    Pass the model server's ``registry`` to export the store's metrics on its ``/metrics``.
    """
    if settings.online_store == "redis":
        return RedisStore(settings.redis_url, prefix=settings.redis_key_prefix, registry=registry)
    return SQLiteStore(settings.features_dir / SQLITE_FILE, registry=registry)
