"""The prediction log's rows made JSON-safe, and its files on disk: spill, replay, quarantine.

:func:`json_safe` makes a value fit JSON and PostgreSQL's ``jsonb``: a NaN or infinite float
becomes the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``, NUL characters are removed,
unpaired surrogates become U+FFFD, bytes are decoded (U+FFFD for what is not UTF-8), dates become
ISO text, numpy scalars their plain value, anything else its ``str``.

Under ``<home>/spill`` (``ServingConfig.spill_dir``):

- ``predictions.jsonl``: records the app DB could not take yet, appended and fsynced;
- ``predictions.replaying.jsonl``: the spill file a replay took (renamed, so new spills go on
  into a fresh ``predictions.jsonl``); a replay the DB cuts short rewrites it with what is left;
- ``quarantine.jsonl``: records the DB refused for their content, one per line as
  ``{"reason": ..., "quarantined_at": ..., "row": {...}}``, kept for a person to look at and
  never replayed automatically.

:class:`SpillFiles` also keeps count of the records waiting in the first two (the
``nivesh_predlog_spill_waiting`` gauge). The count is this process's: it is exact while one
server process owns the folder.

The workers of one server (``NIVESH_WORKERS``) share the folder, so the files are guarded across
processes too (``flock`` on ``.lock`` beside them): an append and the rename that claims the spill
file never interleave, so no record can land in a file after a replay read it; and one process
at a time replays (``.replay.lock``; the others skip their turn).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

__all__ = ["Row", "SpillFiles", "finite", "json_safe"]

Row = dict[str, Any]  # a redacted, JSON-able record: what the DB and the spill file receive


def json_safe(value: Any) -> Any:
    """``value`` with nothing JSON or ``jsonb`` refuses; see the module docstring for the encoding."""
    if value is None or type(value) in (bool, int):
        return value
    if isinstance(value, int):  # IntEnum and the like (bool cannot be subclassed)
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else _NON_FINITE[str(value)]
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, Mapping):
        return {_clean_text(str(key)): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return _clean_text(bytes(value).decode("utf-8", errors="replace"))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if callable(getattr(value, "item", None)):  # a numpy scalar
        with suppress(TypeError, ValueError):
            return json_safe(value.item())
    return _clean_text(str(value))


def finite(number: float | None) -> float | None:
    """``number``, or None when it is NaN or infinite (for a float column)."""
    return number if number is None or math.isfinite(number) else None


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _clean_text(text: str) -> str:
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # unpaired surrogates (a JSON "\ud800" escape): U+FFFD instead
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class SpillFiles:
    """Append, claim, read, rewrite and quarantine prediction-log records; see the module docstring."""

    def __init__(self, spill_path: Path) -> None:
        self.spill_path = spill_path
        self.replay_path = spill_path.with_suffix(".replaying.jsonl")
        self.quarantine_path = spill_path.with_name("quarantine.jsonl")
        self._thread_lock = threading.Lock()
        # Records waiting in each file; None until counted (the files may predate this process).
        self._spilled: int | None = None
        self._replaying: int | None = None

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """This process's threads, then the other processes sharing the folder, one at a time."""
        with self._thread_lock, _flocked(self.spill_path.with_name(".lock"), blocking=True):
            yield

    @contextmanager
    def replaying(self) -> Iterator[bool]:
        """Whether this process may replay now (True for one process at a time, until the block ends)."""
        with _flocked(self.spill_path.with_name(".replay.lock"), blocking=False) as mine:
            yield mine

    def append(self, rows: list[Row]) -> None:
        """Append ``rows`` to the spill file and fsync it; raises OSError when the disk refuses."""
        with self._lock():
            spilled = self._spilled if self._spilled is not None else _count_lines(self.spill_path)
            _append(self.spill_path, (_line(row) for row in rows))
            self._spilled = spilled + len(rows)

    def quarantine(self, row: Row, reason: str) -> None:
        """Set ``row`` aside with ``reason``; raises OSError when the disk refuses."""
        entry = {"reason": reason, "quarantined_at": datetime.now(UTC).isoformat(), "row": row}
        with self._lock():
            _append(self.quarantine_path, [_line(entry)])

    def claim(self) -> Path | None:
        """The file to replay next: one a cut-short replay left, else the spill file (renamed)."""
        if self.replay_path.exists():
            return self.replay_path
        with self._lock():
            if not self.spill_path.exists():
                return None
            self.spill_path.replace(self.replay_path)
            self._spilled, self._replaying = 0, None
        return self.replay_path

    def read(self, path: Path) -> tuple[list[Row], list[str]]:
        """The records of a claimed file, and the lines that are not JSON (cut by a crash mid-write)."""
        rows: list[Row] = []
        unreadable: list[str] = []
        # Bytes a crash left behind are not UTF-8 either: replaced, so they fail as JSON, not as text.
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if isinstance(row, dict):
                rows.append(row)
            else:
                unreadable.append(line)
        self._replaying = len(rows) + len(unreadable)
        return rows, unreadable

    def rewrite(self, path: Path, rows: list[Row]) -> None:
        """Replace a claimed file with the records still to replay (written, then renamed over it)."""
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        _append(partial, (_line(row) for row in rows))
        partial.replace(path)
        self._replaying = len(rows)

    def finish(self, path: Path) -> None:
        """Remove a claimed file whose records are all in the DB or quarantined."""
        path.unlink(missing_ok=True)
        self._replaying = 0

    def waiting(self) -> int:
        """Records in the spill file and the file being replayed (counted once, then kept)."""
        with self._lock():
            if self._spilled is None:
                self._spilled = _count_lines(self.spill_path)
        if self._replaying is None:
            self._replaying = _count_lines(self.replay_path)
        return self._spilled + self._replaying


@contextmanager
def _flocked(path: Path, *, blocking: bool) -> Iterator[bool]:
    """An exclusive ``flock`` on ``path`` for the block; False when not ``blocking`` and it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str) + "\n"


def _append(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.writelines(lines)
        out.flush()
        os.fsync(out.fileno())


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as source:
            return sum(1 for line in source if line.strip())
    except FileNotFoundError:
        return 0
