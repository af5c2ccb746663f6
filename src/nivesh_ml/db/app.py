"""The app database of a ``Settings``: one engine per URL in this process, migrated on first use."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from nivesh_ml.config import Settings
from nivesh_ml.db.migrate import upgrade
from nivesh_ml.db.session import make_engine

__all__ = ["app_engine"]

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def app_engine(settings: Settings) -> Engine:
    """The engine of ``settings.db_url``, created (and the schema migrated to head) on first use."""
    url = settings.db_url
    with _lock:
        if url not in _engines:
            upgrade(url)
            _engines[url] = make_engine(url)
        return _engines[url]
