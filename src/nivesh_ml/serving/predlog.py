"""The prediction log: every prediction lands in ``model_prediction``, off the request path.

A request hands a :class:`PredictionRecord` to :meth:`PredictionLog.submit`, which never blocks:
the record joins a bounded queue that one writer thread drains in batches (one transaction each).
Nothing is dropped silently:

- the app DB refuses a batch (down, locked, migrating): the batch is appended to a JSONL spill
  file under ``<home>/spill`` and replayed into the DB once it answers again;
- the queue is full (the DB is slow for a long while): the record goes straight to the spill file;
- the spill file cannot be written either: the records are counted as ``lost`` and logged.

Replays are idempotent (rows already in the DB are skipped), so a replay cut short is simply run
again. Input and output are PII-redacted before they are written anywhere, spill file included.
On shutdown :meth:`PredictionLog.close` writes what is queued (or spills it).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelPrediction, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.log import get_logger
from nivesh_ml.pii import redact_obj
from nivesh_ml.serving.config import ServingConfig
from nivesh_ml.serving.metrics import ServerMetrics

__all__ = ["PredictionLog", "PredictionRecord"]

log = get_logger(__name__)

Row = dict[str, Any]  # a redacted, JSON-able record: what the DB and the spill file receive


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
        """The redacted, JSON-able form written to the DB or the spill file."""
        return {
            "id": str(self.prediction_id),
            "model_key": self.model_key,
            "model_name": self.model_name,
            "version": self.version,
            "user_id": self.user_id,
            "input_data": redact_obj(dict(self.input_data)),
            "prediction": redact_obj(dict(self.prediction)),
            "confidence": self.confidence,
            "latency_ms": self.latency_ms,
            "created_at": self.created_at.isoformat(),
        }


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
        self.spill_path = config.spill_path(settings)
        self._replay_path = self.spill_path.with_suffix(".replaying.jsonl")
        self._engine = engine or (lambda: app_engine(settings))
        self._config = config
        self._metrics = metrics
        # None is the wake-up call close() sends, so the writer never sleeps through a shutdown.
        self._queue: queue.Queue[PredictionRecord | None] = queue.Queue(maxsize=config.predlog_queue_size)
        self._pending = 0
        self._idle = threading.Condition()
        self._spill_lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._model_ids: dict[tuple[str, str], uuid.UUID] = {}
        self._next_replay = 0.0
        metrics.predlog_depth.set_function(self._queue.qsize)

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
        rows = [record.row() for record in batch]
        try:
            written = self._insert(rows, skip_existing=False)
            self._metrics.predlog_records.labels("written").inc(written)
        except Exception as error:  # the writer must outlive any DB failure: spill, replay later
            self._metrics.predlog_write_failures.inc()
            log.warning(
                "app DB refused %d predictions (%s); spilled to %s",
                len(rows),
                _reason(error),
                self.spill_path,
            )
            self._spill(rows, "spilled")
            self._next_replay = time.monotonic() + self._config.predlog_replay_interval_s
        finally:
            self._done(len(batch))

    def _done(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            if self._pending <= 0:
                self._idle.notify_all()

    # --- the database ----------------------------------------------------------------------

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

    # --- spill and replay ------------------------------------------------------------------

    def _spill(self, rows: list[Row], result: str) -> None:
        try:
            with self._spill_lock:
                self.spill_path.parent.mkdir(parents=True, exist_ok=True)
                with self.spill_path.open("a", encoding="utf-8") as out:
                    out.writelines(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
                    out.flush()
                    os.fsync(out.fileno())
        except OSError as error:
            self._metrics.predlog_records.labels("lost").inc(len(rows))
            log.error("lost %d predictions: cannot spill to %s: %s", len(rows), self.spill_path, error)
            return
        self._metrics.predlog_records.labels(result).inc(len(rows))

    def _try_replay(self) -> None:
        self._next_replay = time.monotonic() + self._config.predlog_replay_interval_s
        try:
            self.replay()
        except Exception as error:  # the DB is still away: keep the file, try again later
            log.warning("cannot replay spilled predictions yet: %s", _reason(error))

    def replay(self) -> int:
        """Write the spilled records into the DB (skipping any already there); returns rows written.

        Raises whatever the DB raises; the spill stays on disk for the next try.
        """
        written = 0
        with self._replay_lock:
            while (source := self._claim_spill()) is not None:
                rows, size = self._read_spill(source), self._config.predlog_batch_size
                for start in range(0, len(rows), size):
                    inserted = self._insert(rows[start : start + size], skip_existing=True)
                    self._metrics.predlog_records.labels("replayed").inc(inserted)
                    written += inserted
                source.unlink()
        if written:
            log.info("replayed %d spilled predictions into the app DB", written)
        return written

    def _claim_spill(self) -> Path | None:
        # A replay cut short left its file: finish it before taking the next spill.
        if self._replay_path.exists():
            return self._replay_path
        with self._spill_lock:
            if not self.spill_path.exists():
                return None
            self.spill_path.replace(self._replay_path)
        return self._replay_path

    def _read_spill(self, path: Path) -> list[Row]:
        rows: list[Row] = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a crash mid-write
                self._metrics.predlog_records.labels("lost").inc()
                log.error("skipping unreadable line %d of %s", number, path)
        return rows


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
