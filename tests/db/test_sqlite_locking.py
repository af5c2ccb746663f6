"""SQLite units of work that read then write do not fail while another connection commits.

The server's prediction-log writer commits batches all the time; ``nivesh-ml keys revoke``
(read the key, then update it) ran beside it and failed with "database is locked" in CI:
a deferred transaction holding a read lock cannot wait for a writer, so SQLite refuses it
at once. Every SQLite transaction now begins IMMEDIATE and waits its turn.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import select

from nivesh_ml.db.migrate import upgrade
from nivesh_ml.db.models import ApiKey
from nivesh_ml.db.session import make_engine, session_scope


def test_read_then_write_waits_for_a_concurrent_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        session.add(ApiKey(name="victim", prefix="p1", hash="h", salt="s", scopes=["predict"]))

    writing = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        # holds the write lock for a while, then commits while the reader below holds its read
        try:
            with session_scope(engine) as session:
                session.add(ApiKey(name="other", prefix="p2", hash="h", salt="s", scopes=["predict"]))
                session.flush()
                writing.set()
                time.sleep(0.4)
        except BaseException as error:  # re-raised in the test thread
            errors.append(error)
            writing.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert writing.wait(10)
    with session_scope(engine) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.name == "victim")).one()
        time.sleep(0.6)  # the writer's commit comes while this unit of work holds its read
        row.scopes = ["predict", "admin"]
    thread.join()
    assert not errors
    with session_scope(engine) as session:
        names = {key.name: key.scopes for key in session.scalars(select(ApiKey))}
    assert names == {"victim": ["predict", "admin"], "other": ["predict"]}
    engine.dispose()
