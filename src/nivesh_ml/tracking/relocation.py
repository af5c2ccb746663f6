"""A home that can move: ``cp -a var /elsewhere && NIVESH_HOME=/elsewhere nivesh-ml serve`` serves.

MLflow's SQLite store keeps absolute locations: the artefact location of each experiment, the
artefact URI of each run and logged model, the storage location of each model version, and the
paths of the data sets runs read; the app DB keeps lineage paths too. In a copied or restored
home they all still name the old one, so the supply-chain check (rightly) refused every model,
drift found no reference sample, and new runs wrote into the old home.

So when the embedded store is opened (:func:`~nivesh_ml.tracking.store.use_tracking`),
:func:`relocate_home` reads where the store was written from its own ``nivesh/<model>``
experiments (whose artefacts live at a fixed place under the home) and, if that was another
home, rewrites every stored location inside the old home to the same relative path inside this
one: in the MLflow store in one transaction (which also keeps two processes from both doing it),
then in the app DB when it is a SQLite file in the home. Once per home and process.

Only locations inside the old home move, and only into this home: a version whose source lies
anywhere else keeps it, and :func:`~nivesh_ml.tracking.supply_chain.check_location` refuses it
as before. Logged artefacts are not touched (an ``MLmodel`` file still names the home it was
logged in; MLflow reads nothing from that line).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from sqlalchemy.engine import make_url

from nivesh_ml.config import Settings
from nivesh_ml.log import get_logger

__all__ = ["APP_LOCATIONS", "MLFLOW_LOCATIONS", "HomeMove", "relocate_home"]

log = get_logger(__name__)

# (table, column) of MLflow's SQLite store holding a location; tables or columns an MLflow
# version lacks are skipped. ``datasets.dataset_source`` is JSON ({"uri": ...}).
MLFLOW_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "source"),
    ("model_versions", "storage_location"),
)
MLFLOW_JSON_LOCATIONS: tuple[tuple[str, str], ...] = (("datasets", "dataset_source"),)
# The app DB's lineage paths (written by tracking.runs and tracking.mirror).
APP_LOCATIONS: tuple[tuple[str, str], ...] = (
    ("training_dataset", "s3_path"),
    ("model_registry", "artifact_path"),
)

_checked: set[tuple[Path, int]] = set()  # (home, inode of its store): a store copied back is new
_lock = threading.Lock()


@dataclass(frozen=True)
class HomeMove:
    """A home whose store was written at ``old_path`` (``old_uri`` as a file URI), now at ``new``."""

    old_path: str
    old_uri: str
    new: Path

    @property
    def needles(self) -> tuple[str, str]:
        """What a stored location inside the old home starts with: its path or its URI."""
        return self.old_path, self.old_uri

    def apply(self, value: str) -> str:
        """``value`` moved under the new home if it is a path or ``file:`` URI inside the old one."""
        for old, new in ((self.old_uri, self.new.as_uri()), (self.old_path, str(self.new))):
            if value == old or value.startswith(old + "/"):
                return new + value[len(old) :]
        return value

    def apply_json(self, text: str) -> str:
        """A JSON object's string values moved (a data set's source); anything else as it was."""
        try:
            value: Any = json.loads(text)
        except ValueError:
            return text
        if not isinstance(value, dict):
            return text
        moved = {key: self.apply(item) if isinstance(item, str) else item for key, item in value.items()}
        return json.dumps(moved) if moved != value else text


def relocate_home(settings: Settings, artifact_roots: Mapping[str, Path]) -> list[HomeMove]:
    """Move the embedded store's locations from the home it was written in to this one.

    ``artifact_roots``: experiment name -> where its artefacts live, as a path under
    ``settings.home`` (the fixed layout that tells the old home from a stored location). Returns
    the moves made: none if the home has not moved. A moved store that cannot be written keeps
    its locations, with a warning (and the supply-chain check refuses its models).
    """
    home = settings.home.resolve()
    database = Path(make_url(settings.tracking_uri).database or "")
    try:
        key = (home, database.stat().st_ino)
    except FileNotFoundError:  # no store yet: MLflow creates it here, with this home's locations
        return []
    with _lock:
        if key in _checked:
            return []
        _checked.add(key)  # tried once per process, moved or not: a read-only copy warns once
        layouts = {name: root.relative_to(settings.home).as_posix() for name, root in artifact_roots.items()}
        try:
            moves = _relocate_store(settings, database, home, layouts)
        except sqlite3.Error as error:
            log.warning("could not move the locations stored in %s to this home: %s", database, error)
            return []
    for move in moves:
        log.info("home moved: stored locations rewritten", extra={"from": move.old_path, "to": str(home)})
    return moves


def _relocate_store(
    settings: Settings, database: Path, home: Path, layouts: Mapping[str, str]
) -> list[HomeMove]:
    """The MLflow store's moves, made in one immediate transaction; the app DB's before commit."""
    connection = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        if not _moves(connection, home, layouts):  # the usual case: a read, no write lock
            return []
        connection.execute("BEGIN IMMEDIATE")
        moves = _moves(connection, home, layouts)  # again: another process may have moved it
        for move in moves:
            _rewrite_all(connection, MLFLOW_LOCATIONS, move.apply, move)
            _rewrite_all(connection, MLFLOW_JSON_LOCATIONS, move.apply_json, move)
            _relocate_app_db(settings, home, move)
        connection.execute("COMMIT")
        return moves
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()


def _moves(connection: sqlite3.Connection, home: Path, layouts: Mapping[str, str]) -> list[HomeMove]:
    """The other homes the store's own experiments say it was written in."""
    if "artifact_location" not in _columns(connection, "experiments"):
        return []
    moves: dict[str, HomeMove] = {}
    for name, location in connection.execute("SELECT name, artifact_location FROM experiments"):
        layout = layouts.get(name)
        if layout is None or not isinstance(location, str):
            continue
        move = _move_of(location, layout, home)
        if move is not None:
            moves.setdefault(move.old_path, move)
    return list(moves.values())


def _move_of(location: str, layout: str, home: Path) -> HomeMove | None:
    """The move from the home ``location`` was made under (it ends in ``/<layout>``), if another."""
    location = location.rstrip("/")
    if not location.endswith("/" + layout):
        return None
    old = location[: -len(layout) - 1]
    if old.startswith("file:"):
        old_path, old_uri = url2pathname(urlparse(old).path), old
    elif old.startswith("/"):
        old_path, old_uri = old, Path(old).as_uri()
    else:
        return None  # not a local home (an object store's location stays the server's business)
    # the same place by another name (a symlinked home or mlflow folder) is no move
    if not old_path or Path(old_path, layout).resolve() == (home / layout).resolve():
        return None
    return HomeMove(old_path, old_uri, home)


def _relocate_app_db(settings: Settings, home: Path, move: HomeMove) -> None:
    """The same move in the app DB, when it is a SQLite file inside this home (else it is shared)."""
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return
    path = Path(url.database).resolve()
    if not path.is_file() or not path.is_relative_to(home):
        return
    connection = sqlite3.connect(path, timeout=30)
    try:
        with connection:  # one transaction, committed here
            _rewrite_all(connection, APP_LOCATIONS, move.apply, move)
    finally:
        connection.close()


def _rewrite_all(
    connection: sqlite3.Connection,
    locations: tuple[tuple[str, str], ...],
    rewrite: Callable[[str], str],
    move: HomeMove,
) -> None:
    for table, column in locations:
        if column in _columns(connection, table):
            _rewrite(connection, table, column, rewrite, move.needles)


def _rewrite(
    connection: sqlite3.Connection,
    table: str,
    column: str,
    rewrite: Callable[[str], str],
    needles: tuple[str, ...],
) -> None:
    """Rewrite the values of ``table.column`` that hold one of ``needles``, row by row."""
    # table and column names come from the constants above, never from input
    where = " OR ".join(f'instr("{column}", ?) > 0' for _ in needles)
    rows = connection.execute(f'SELECT rowid, "{column}" FROM "{table}" WHERE {where}', needles)  # nosec B608
    changed = [(new, rowid) for rowid, old in rows.fetchall() if (new := rewrite(old)) != old]
    connection.executemany(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid = ?', changed)  # nosec B608


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in connection.execute(f'PRAGMA table_info("{table}")')}
