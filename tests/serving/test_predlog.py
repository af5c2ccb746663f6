"""The prediction log's writer: batches, redaction, and durability when the app DB goes away."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, text

from nivesh_ml.config import Settings
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import DatabaseError
from nivesh_ml.serving.metrics import ServerMetrics
from nivesh_ml.serving.predlog import PredictionLog, PredictionRecord

from .conftest import FAST, predictions, wait_for


def _record(text: str = "hello", version: str = "1") -> PredictionRecord:
    return PredictionRecord(
        prediction_id=uuid.uuid4(),
        model_key="intent",
        model_name="nivesh-intent",
        version=version,
        input_data={"query": text},
        prediction={"intent": "greet", "note": text},
        latency_ms=1.5,
        created_at=datetime.now(UTC),
        confidence=0.9,
    )


def _count(metrics: ServerMetrics, result: str) -> float:
    value = metrics.registry.get_sample_value("nivesh_predlog_records_total", {"result": result})
    return value or 0.0


@pytest.fixture
def metrics() -> ServerMetrics:
    return ServerMetrics(CollectorRegistry())


@pytest.fixture
def writer(fresh_settings: Settings, metrics: ServerMetrics) -> Iterator[PredictionLog]:
    log = PredictionLog(fresh_settings, metrics, FAST)
    yield log
    log.close(5)


def _logged(settings: Settings) -> dict[str, tuple[dict[str, object], str]]:
    return {str(row.id): (row.input_data, version) for row, version in predictions(settings)}


def test_records_are_written_in_batches_with_their_version(
    writer: PredictionLog, fresh_settings: Settings, metrics: ServerMetrics
) -> None:
    records = [_record(version="1") for _ in range(5)] + [_record(version="2") for _ in range(3)]
    for record in records:
        writer.submit(record)
    writer.start()
    assert writer.flush(10)
    logged = _logged(fresh_settings)
    assert {key: version for key, (_, version) in logged.items()} == {
        str(r.prediction_id): r.version for r in records
    }
    assert _count(metrics, "written") == 8
    assert writer.depth() == 0


def test_pii_is_redacted_before_it_is_written(writer: PredictionLog, fresh_settings: Settings) -> None:
    record = _record("call me on 9876543210, PAN ABCPE1234F")
    writer.start()
    writer.submit(record)
    assert writer.flush(10)
    row = next(row for row, _ in predictions(fresh_settings) if row.id == record.prediction_id)
    assert row.input_data == {"query": "call me on [PHONE], PAN [PAN]"}
    assert row.prediction["note"] == "call me on [PHONE], PAN [PAN]"


@pytest.fixture
def engine(fresh_settings: Settings) -> Engine:
    return app_engine(fresh_settings)


def _take_table_away(engine: Engine, away: bool) -> None:
    names = ("model_prediction", "model_prediction_away")
    old, new = names if away else names[::-1]
    with engine.begin() as connection:
        connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_a_failing_db_spills_and_the_spill_is_replayed_when_it_recovers(
    fresh_settings: Settings, metrics: ServerMetrics, engine: Engine
) -> None:
    writer = PredictionLog(fresh_settings, metrics, replace(FAST, predlog_replay_interval_s=0.05))
    writer.start()
    _take_table_away(engine, away=True)
    records = [_record(f"phone 98765432{n:02d}") for n in range(6)]
    for record in records:
        writer.submit(record)
    assert writer.flush(10)  # not written, but nothing waits in the queue: it is on disk
    assert _count(metrics, "spilled") == 6
    spilled = [json.loads(line) for line in writer.spill_path.read_text().splitlines()]
    assert {row["id"] for row in spilled} == {str(r.prediction_id) for r in records}
    assert "98765432" not in writer.spill_path.read_text()  # the spill file is redacted too
    assert metrics.registry.get_sample_value("nivesh_predlog_write_failures_total") >= 1

    _take_table_away(engine, away=False)  # the DB is back
    wait_for(lambda: _count(metrics, "replayed") == 6)
    assert {str(r.prediction_id) for r in records} <= set(_logged(fresh_settings))
    assert not writer.spill_path.exists()
    writer.close(5)


def test_an_unreachable_db_at_start_spills_then_replays(
    fresh_settings: Settings, metrics: ServerMetrics
) -> None:
    down = True

    def engine() -> Engine:
        if down:
            raise DatabaseError("cannot connect to the app database at postgresql://x@127.0.0.1:1/x")
        return app_engine(fresh_settings)

    writer = PredictionLog(
        fresh_settings, metrics, replace(FAST, predlog_replay_interval_s=0.05), engine=engine
    )
    writer.start()
    record = _record()
    writer.submit(record)
    assert writer.flush(10)
    assert _count(metrics, "spilled") == 1
    down = False
    wait_for(lambda: _count(metrics, "replayed") == 1)
    assert str(record.prediction_id) in _logged(fresh_settings)
    writer.close(5)


def test_a_full_queue_spills_at_once_and_never_blocks(
    fresh_settings: Settings, metrics: ServerMetrics
) -> None:
    writer = PredictionLog(fresh_settings, metrics, replace(FAST, predlog_queue_size=2))
    records = [_record() for _ in range(5)]
    for record in records:  # the writer is not started: the queue fills up
        writer.submit(record)
    assert _count(metrics, "overflow") == 3
    assert writer.depth() == 2
    writer.start()  # writes the two queued, replays the three spilled
    wait_for(lambda: _count(metrics, "replayed") == 3 and _count(metrics, "written") == 2)
    assert {str(r.prediction_id) for r in records} <= set(_logged(fresh_settings))
    writer.close(5)


def test_close_writes_what_is_queued(fresh_settings: Settings, metrics: ServerMetrics) -> None:
    writer = PredictionLog(fresh_settings, metrics, replace(FAST, predlog_flush_interval_s=5))
    writer.start()
    records = [_record() for _ in range(50)]
    for record in records:
        writer.submit(record)
    writer.close(10)
    assert {str(r.prediction_id) for r in records} <= set(_logged(fresh_settings))


def test_close_without_a_writer_spills_the_queue(fresh_settings: Settings, metrics: ServerMetrics) -> None:
    writer = PredictionLog(fresh_settings, metrics, FAST)
    writer.submit(_record())
    writer.close(1)
    assert len(writer.spill_path.read_text().splitlines()) == 1


def test_replay_skips_rows_already_written_and_unreadable_lines(
    fresh_settings: Settings, metrics: ServerMetrics
) -> None:
    written, new = _record(), _record()
    writer = PredictionLog(fresh_settings, metrics, FAST)
    writer.start()
    writer.submit(written)
    writer.close(10)  # the thread stops: only the explicit replays below run
    # a replay cut short after its commit: the row is in the DB and still in the file
    lines = [json.dumps(written.row()), '{"id": "cut off mid-wri', json.dumps(new.row())]
    Path(writer.spill_path).parent.mkdir(parents=True, exist_ok=True)
    writer.spill_path.write_text("\n".join(lines) + "\n")
    assert writer.replay() == 1
    assert _count(metrics, "lost") == 1
    assert {str(written.prediction_id), str(new.prediction_id)} <= set(_logged(fresh_settings))
    assert writer.replay() == 0
