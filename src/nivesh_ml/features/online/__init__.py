"""The online feature store: per-user feature rows of versioned views, served from SQLite or Redis.

Make one with :func:`make_online_store` (the backend ``Settings.online_store`` names), or
construct :class:`SQLiteStore` / :class:`RedisStore` directly; both satisfy :class:`OnlineStore`.
"""

from nivesh_ml.features.online.base import HealthStatus, OnlineStore, StoreStats, ViewKey, normalize_row
from nivesh_ml.features.online.factory import make_online_store
from nivesh_ml.features.online.redis_store import RedisStore
from nivesh_ml.features.online.sqlite_store import SQLiteStore

__all__ = [
    "HealthStatus",
    "OnlineStore",
    "RedisStore",
    "SQLiteStore",
    "StoreStats",
    "ViewKey",
    "make_online_store",
    "normalize_row",
]
