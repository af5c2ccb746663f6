"""The prediction log's writer: batches, redaction, and durability when the app DB goes away."""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select, text

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelPrediction
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.migrate import upgrade
from nivesh_ml.db.session import make_engine
from nivesh_ml.errors import DatabaseError
from nivesh_ml.serving.metrics import ServerMetrics
from nivesh_ml.serving.predlog import PredictionLog, PredictionRecord

from .conftest import FAST, predictions, wait_for

PG_URL = os.environ.get("NIVESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _record(text: str = "hello", version: str = "1", **changes: Any) -> PredictionRecord:
    record = PredictionRecord(
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
    return replace(record, **changes)


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
    assert _count(metrics, "quarantined") == 1  # the cut line is set aside for a person, not lost
    assert _count(metrics, "lost") == 0
    assert {str(written.prediction_id), str(new.prediction_id)} <= set(_logged(fresh_settings))
    (entry,) = _quarantined(writer)
    assert entry["row"] == {"unreadable_line": '{"id": "cut off mid-wri'}
    assert writer.replay() == 0


def _quarantined(writer: PredictionLog) -> list[dict[str, Any]]:
    path = writer.files.quarantine_path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --- rows JSON cannot carry, and rows the DB refuses (SQLite and PostgreSQL) ------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, fresh_settings: Settings) -> Iterator[Engine]:
    """The app DB the writer writes to: the home's SQLite, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        yield app_engine(fresh_settings)
        return
    schema = f"nivesh_predlog_{uuid.uuid4().hex[:10]}"
    upgrade(PG_URL, schema=schema)
    engine = make_engine(PG_URL, schema)
    yield engine
    engine.dispose()
    admin = make_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _rows(engine: Engine) -> dict[str, ModelPrediction]:
    with engine.connect() as connection:
        found = connection.execute(select(ModelPrediction)).all()
    return {str(row.id): row for row in found}  # type: ignore[attr-defined]


def _bad_row(engine: Engine) -> PredictionRecord:
    """A record the DB refuses for its content: PostgreSQL a user id over 128 characters (a data
    error), SQLite a NaN latency (stored as NULL in a NOT NULL column: an integrity error)."""
    if engine.dialect.name == "postgresql":
        return _record(user_id="U" * 200)
    return _record(latency_ms=math.nan)


def test_values_json_cannot_carry_are_encoded_and_written(
    fresh_settings: Settings, metrics: ServerMetrics, db: Engine
) -> None:
    weird = {
        "income": math.nan, "limit": math.inf, "floor": -math.inf, "note": "a\x00b", "k\x00ey": 1,
        "half": "\ud800x", "raw": b"bytes \xff", "phone": "98765\x0043210", "nested": [{"x": math.nan}],
    }  # fmt: skip
    record = _record(input_data=weird, prediction={"score": math.nan}, confidence=math.nan, user_id="U\x001")
    json.dumps(record.row(), allow_nan=False)  # strict JSON: no NaN token left
    writer = PredictionLog(fresh_settings, metrics, FAST, engine=lambda: db)
    writer.submit(record)
    writer.start()
    assert writer.flush(10)
    writer.close(5)
    row = _rows(db)[str(record.prediction_id)]
    assert row.input_data == {
        "income": "NaN", "limit": "Infinity", "floor": "-Infinity", "note": "ab", "key": 1,
        "half": "\ufffdx", "raw": "bytes \ufffd", "phone": "[PHONE]", "nested": [{"x": "NaN"}],
    }  # fmt: skip
    assert row.prediction == {"score": "NaN"}
    assert (row.confidence, row.user_id) == (None, "U1")
    assert (_count(metrics, "written"), _count(metrics, "quarantined"), _count(metrics, "spilled")) == (
        1,
        0,
        0,
    )


def test_a_row_the_db_refuses_is_quarantined_alone(
    fresh_settings: Settings, metrics: ServerMetrics, db: Engine
) -> None:
    good = [_record() for _ in range(6)]
    bad = _bad_row(db)
    writer = PredictionLog(fresh_settings, metrics, FAST, engine=lambda: db)
    for record in [*good[:3], bad, *good[3:]]:  # queued before the writer starts: one batch
        writer.submit(record)
    writer.start()
    assert writer.flush(10)
    writer.close(5)
    assert set(_rows(db)) == {str(r.prediction_id) for r in good}
    (entry,) = _quarantined(writer)
    assert entry["row"]["id"] == str(bad.prediction_id)
    assert entry["reason"]
    assert (_count(metrics, "written"), _count(metrics, "quarantined")) == (6, 1)
    assert _count(metrics, "spilled") == 0
    assert not writer.spill_path.exists()


def test_a_bad_row_in_a_spill_holds_back_neither_its_file_nor_later_spills(
    fresh_settings: Settings, metrics: ServerMetrics, db: Engine
) -> None:
    bad, first, later = _bad_row(db), _record(), _record()
    old = _record(input_data={"income": math.nan})  # spilled by an older version: a bare NaN token
    writer = PredictionLog(fresh_settings, metrics, FAST, engine=lambda: db)
    writer.files.spill_path.parent.mkdir(parents=True)
    replaying = [bad.row(), first.row(), {**old.row(), "input_data": {"income": math.nan}}]
    writer.files.replay_path.write_text("".join(json.dumps(row) + "\n" for row in replaying))
    writer.files.append([later.row()])  # a spill taken after the replay was cut short
    assert "NaN" in writer.files.replay_path.read_text()
    assert metrics.registry.get_sample_value("nivesh_predlog_spill_waiting") == 4
    assert writer.replay() == 3
    assert {str(r.prediction_id) for r in (first, old, later)} == set(_rows(db))
    assert _rows(db)[str(old.prediction_id)].input_data == {"income": "NaN"}
    assert [entry["row"]["id"] for entry in _quarantined(writer)] == [str(bad.prediction_id)]
    assert not writer.files.replay_path.exists()
    assert not writer.spill_path.exists()
    assert metrics.registry.get_sample_value("nivesh_predlog_spill_waiting") == 0
    assert (_count(metrics, "replayed"), _count(metrics, "quarantined")) == (3, 1)


def test_a_replay_the_db_cuts_short_keeps_only_what_is_left(
    fresh_settings: Settings, metrics: ServerMetrics
) -> None:
    inserts = 0

    def engine() -> Engine:  # the DB answers one insert, then goes away until told
        nonlocal inserts
        inserts += 1
        if inserts == 2:
            raise DatabaseError("cannot connect to the app database at postgresql://x@127.0.0.1:1/x")
        return app_engine(fresh_settings)

    writer = PredictionLog(fresh_settings, metrics, replace(FAST, predlog_batch_size=2), engine=engine)
    records = [_record() for _ in range(5)]
    writer.files.append([record.row() for record in records])
    with pytest.raises(DatabaseError):
        writer.replay()
    left = [json.loads(line)["id"] for line in writer.files.replay_path.read_text().splitlines()]
    assert left == [str(r.prediction_id) for r in records[2:]]  # the written two are gone from it
    assert metrics.registry.get_sample_value("nivesh_predlog_spill_waiting") == 3
    assert writer.replay() == 3
    assert {str(r.prediction_id) for r in records} <= set(_logged(fresh_settings))
    assert metrics.registry.get_sample_value("nivesh_predlog_spill_waiting") == 0
