"""The prediction log: every prediction lands in ``model_prediction``, off the request path.

A request hands a :class:`PredictionRecord` to :meth:`PredictionLog.submit`, which never blocks:
the record joins a bounded queue that one writer thread drains in batches (one transaction each).
Nothing is dropped silently:

- the app DB cannot take a batch (down, locked, migrating, frozen): the batch is appended to a
  JSONL spill file under ``<home>/spill`` (``predictions.jsonl``) and replayed into the DB once
  it answers again;
- the app DB refuses a batch for its *content* (a data-type or integrity error): the batch is
  halved until the bad rows stand alone; each is set aside in ``<home>/spill/quarantine.jsonl``
  with the reason, and the rest of the batch is written. The same holds on replay, so one bad
  row never holds back its batch or the spills after it;
- the queue is full (the DB is slow for a long while): the record goes straight to the spill file;
- the spill file cannot be written either: the records are counted as ``lost`` and logged.

Rows are made JSON-safe before they are written anywhere (:func:`~nivesh_ml.serving.spill.json_safe`:
NaN and infinities become the strings ``"NaN"``/``"Infinity"``/``"-Infinity"``, NUL characters
are removed, before PII redaction, so a NUL cannot split a phone number past the redactor). The
request schemas refuse NaN at the door, but a model output or an online feature can carry one.

Replays are idempotent (rows already in the DB are skipped), so a replay cut short is simply run
again. Input and output are PII-redacted before they are written anywhere, spill file included.
On shutdown :meth:`PredictionLog.close` writes what is queued (or spills it).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, exc, insert, select
from sqlalchemy.orm import Session

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelPrediction, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.log import get_logger
from nivesh_ml.pii import redact_obj
from nivesh_ml.serving.config import ServingConfig
from nivesh_ml.serving.metrics import ServerMetrics
from nivesh_ml.serving.spill import Row, SpillFiles, finite, json_safe

__all__ = ["PredictionLog", "PredictionRecord"]

log = get_logger(__name__)


@dataclass(frozen=True)
class PredictionRecord:
    """One prediction as the request made it (not yet redacted)."""

    prediction_id: uuid.UUID
    model_key: str
    model_name: str
    version: str
    input_data: Mapping[str, Any]
    prediction: Mapping[str, Any]
    latency_ms: float
    created_at: datetime
    user_id: str | None = None
    confidence: float | None = None

    def row(self) -> Row:
        """The JSON-safe, redacted form written to the DB or the spill file."""
        return {
            "id": str(self.prediction_id),
            "model_key": self.model_key,
            "model_name": self.model_name,
            "version": self.version,
            "user_id": json_safe(self.user_id),
            "input_data": redact_obj(json_safe(dict(self.input_data))),
            "prediction": redact_obj(json_safe(dict(self.prediction))),
            "confidence": finite(self.confidence),
            "latency_ms": self.latency_ms,
            "created_at": self.created_at.isoformat(),
        }


@dataclass
class _Outcome:
    """What became of rows handed to the DB: written, quarantined, or left (the DB went away)."""

    written: int = 0
    quarantined: int = 0
    left: list[Row] = field(default_factory=list)
    error: Exception | None = None  # why ``left`` was not written


class PredictionLog:
    """A bounded queue and one writer thread in front of ``model_prediction``; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        metrics: ServerMetrics,
        config: ServingConfig,
        *,
        engine: Callable[[], Engine] | None = None,
    ) -> None:
        self.files = SpillFiles(config.spill_path(settings))
        self.spill_path = self.files.spill_path
        self._engine = engine or (lambda: app_engine(settings))
        self._config = config
        self._metrics = metrics
        # None is the wake-up call close() sends, so the writer never sleeps through a shutdown.
        self._queue: queue.Queue[PredictionRecord | None] = queue.Queue(maxsize=config.predlog_queue_size)
        self._pending = 0
        self._idle = threading.Condition()
        self._replay_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._model_ids: dict[tuple[str, str], uuid.UUID] = {}
        self._next_replay = 0.0
        self._db_away = False  # logged once per outage, not once per batch
        metrics.predlog_depth.set_function(self._queue.qsize)
        metrics.predlog_spill_waiting.set_function(self.files.waiting)

    # --- the request side ------------------------------------------------------------------

    def submit(self, record: PredictionRecord) -> None:
        """Queue a record for the writer; if the queue is full, spill it now. Never blocks."""
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._done(1)
            self._spill([record.row()], "overflow")

    def depth(self) -> int:
        """Records waiting for the writer."""
        return self._queue.qsize()

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (it replays any spill file first)."""
        self._thread = threading.Thread(target=self._run, name="nivesh-predlog", daemon=True)
        self._thread.start()

    def flush(self, timeout: float) -> bool:
        """Wait until every queued record is written or spilled; False if ``timeout`` ran out first."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float) -> None:
        """Write what is queued and stop the writer; whatever it could not take is spilled."""
        self._stopping.set()
        with suppress(queue.Full):  # a full queue keeps the writer awake anyway
            self._queue.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("prediction log writer still busy after %.0f s; spilling the queue", timeout)
        left = list(_drain(self._queue))
        if left:
            self._spill([record.row() for record in left], "spilled")
            self._done(len(left))

    # --- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch:
                self._write(batch)
            if self._stopping.is_set() and self._queue.empty():
                return
            if time.monotonic() >= self._next_replay:
                self._try_replay()

    def _take(self) -> list[PredictionRecord]:
        try:
            first = self._queue.get(timeout=self._config.predlog_flush_interval_s)
        except queue.Empty:
            return []
        batch = [] if first is None else [first]
        while len(batch) < self._config.predlog_batch_size:
            try:
                record = self._queue.get_nowait()
            except queue.Empty:
                break
            if record is not None:
                batch.append(record)
        return batch

    def _write(self, batch: list[PredictionRecord]) -> None:
        try:
            outcome = self._store([record.row() for record in batch], skip_existing=False)
            self._metrics.predlog_records.labels("written").inc(outcome.written)
            if outcome.error is not None:  # the writer must outlive any DB failure: spill, replay later
                self._metrics.predlog_write_failures.inc()
                self._note_db_away(outcome.error, len(outcome.left))
                self._spill(outcome.left, "spilled")
                self._next_replay = time.monotonic() + self._config.predlog_replay_interval_s
            elif self._db_away:
                self._db_away = False
                log.info("the app DB takes predictions again; spilled ones are replayed")
        finally:
            self._done(len(batch))

    def _note_db_away(self, error: Exception, count: int) -> None:
        if not self._db_away:
            self._db_away = True
            log.warning(
                "app DB cannot take predictions (%s); spilling them to %s until it answers",
                _reason(error),
                self.spill_path,
            )
        else:
            log.debug("app DB still away (%s); spilled %d predictions", _reason(error), count)

    def _done(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            if self._pending <= 0:
                self._idle.notify_all()

    # --- the database ----------------------------------------------------------------------

    def _store(self, rows: list[Row], *, skip_existing: bool) -> _Outcome:
        """Insert ``rows``, quarantining the ones the DB refuses for their content.

        A part refused for its data is halved (and retried skipping rows already there) until
        each bad row stands alone; the first failure of another kind (the DB is away) stops it,
        and what is not written yet is returned in ``left``.
        """
        outcome, parts = _Outcome(), [rows]
        while parts:
            part = parts.pop()
            try:
                outcome.written += self._insert(part, skip_existing=skip_existing)
            except Exception as error:  # sorted below: a bad row, or the DB itself
                if not _row_fault(error):
                    outcome.left = [row for rest in (part, *reversed(parts)) for row in rest]
                    outcome.error = error
                    return outcome
                self._model_ids.clear()  # an integrity error may name a registration that is gone
                skip_existing = True
                if len(part) == 1:
                    self._quarantine(part[0], _reason(error))
                    outcome.quarantined += 1
                else:
                    half = len(part) // 2
                    parts += [part[half:], part[:half]]
        return outcome

    def _insert(self, rows: list[Row], *, skip_existing: bool) -> int:
        found: dict[tuple[str, str], uuid.UUID] = {}
        with session_scope(self._engine()) as session:
            if skip_existing:
                rows = _without_existing(session, rows)
            for row in rows:
                if _version_key(row) not in found:
                    found[_version_key(row)] = self._model_id(session, row)
            if rows:
                session.execute(insert(ModelPrediction), [_db_row(row, found) for row in rows])
        self._model_ids.update(found)  # only once committed: a rolled-back registration is not cached
        return len(rows)

    def _model_id(self, session: Session, row: Row) -> uuid.UUID:
        key = _version_key(row)
        if key in self._model_ids:
            return self._model_ids[key]
        existing = repository.get_model_version(session, row["model_name"], row["version"])
        if existing is not None:
            return existing.id
        registered = repository.register_model_version(
            session,
            model_name=row["model_name"],
            model_type=row["model_key"],
            version=row["version"],
            framework="pyfunc",
            artifact_path=f"models:/{row['model_name']}/{row['version']}",
            created_by="nivesh-ml serve",
        )
        return registered.id

    # --- spill, quarantine and replay ------------------------------------------------------

    def _spill(self, rows: list[Row], result: str) -> None:
        if not rows:
            return
        try:
            self.files.append(rows)
        except OSError as error:
            self._metrics.predlog_records.labels("lost").inc(len(rows))
            log.error("lost %d predictions: cannot spill to %s: %s", len(rows), self.spill_path, error)
            return
        self._metrics.predlog_records.labels(result).inc(len(rows))

    def _quarantine(self, row: Row, reason: str) -> None:
        try:
            self.files.quarantine(row, reason)
        except OSError as error:
            self._metrics.predlog_records.labels("lost").inc()
            log.error("lost prediction %s: cannot quarantine it: %s", row.get("id"), error)
            return
        self._metrics.predlog_records.labels("quarantined").inc()
        log.warning(
            "prediction %s set aside in %s: %s", row.get("id", "?"), self.files.quarantine_path, reason
        )

    def _try_replay(self) -> None:
        self._next_replay = time.monotonic() + self._config.predlog_replay_interval_s
        try:
            self.replay()
        except Exception as error:  # the DB is still away: keep the file, try again later
            log.warning("cannot replay spilled predictions yet: %s", _reason(error))

    def replay(self) -> int:
        """Write the spilled records into the DB (skipping any already there); returns rows written.

        Rows the DB refuses for their content are quarantined and the replay goes on. Raises
        what the DB raises when it is away; what is left of the file stays on disk for the next try.
        """
        written = 0
        with self._replay_lock, self.files.replaying() as mine:
            while mine and (source := self.files.claim()) is not None:  # else another worker replays
                written += self._replay_file(source)
        if written:
            log.info("replayed %d spilled predictions into the app DB", written)
        return written

    def _replay_file(self, source: Path) -> int:
        rows, unreadable = self.files.read(source)
        for line in unreadable:  # a line cut by a crash mid-write: kept for a person to look at
            self._quarantine({"unreadable_line": line}, f"line of {source.name} is not a JSON object")
        rows = [json_safe(row) for row in rows]  # spills of older versions may hold NaN
        written, size = 0, self._config.predlog_batch_size
        for start in range(0, len(rows), size):
            outcome = self._store(rows[start : start + size], skip_existing=True)
            self._metrics.predlog_records.labels("replayed").inc(outcome.written)
            written += outcome.written
            if outcome.error is not None:
                if unreadable or written or outcome.quarantined:  # else the file on disk is still right
                    self.files.rewrite(source, outcome.left + rows[start + size :])
                raise outcome.error
        self.files.finish(source)
        return written


def _row_fault(error: Exception) -> bool:
    """Whether the DB refused the rows for their content (not because it is away)."""
    if isinstance(error, exc.DataError | exc.IntegrityError):
        return True
    if isinstance(error, exc.DBAPIError):  # operational, programming, interface: the DB, not the row
        return False
    # a value the driver could not bind, or a row that is not even well formed
    return isinstance(error, exc.StatementError | ValueError | TypeError | KeyError)


def _drain(source: queue.Queue[PredictionRecord | None]) -> Iterator[PredictionRecord]:
    while True:
        try:
            record = source.get_nowait()
        except queue.Empty:
            return
        if record is not None:
            yield record


def _reason(error: Exception) -> str:
    # A driver error's first line: SQLAlchemy's own text appends the statement and a batch of rows.
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _version_key(row: Row) -> tuple[str, str]:
    return str(row["model_name"]), str(row["version"])


def _without_existing(session: Session, rows: list[Row]) -> list[Row]:
    ids = [uuid.UUID(row["id"]) for row in rows]
    existing = {
        str(found) for found in session.scalars(select(ModelPrediction.id).where(ModelPrediction.id.in_(ids)))
    }
    return [row for row in rows if row["id"] not in existing]


def _db_row(row: Row, model_ids: Mapping[tuple[str, str], uuid.UUID]) -> dict[str, Any]:
    return {
        "id": uuid.UUID(row["id"]),
        "model_id": model_ids[_version_key(row)],
        "user_id": row["user_id"],
        "input_data": row["input_data"],
        "prediction": row["prediction"],
        "confidence": row["confidence"],
        "latency_ms": row["latency_ms"],
        "created_at": datetime.fromisoformat(row["created_at"]),
    }
