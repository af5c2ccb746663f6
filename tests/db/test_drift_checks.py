"""The ``drift_check`` table (migration 0003) and its repository functions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from nivesh_ml.db import repository
from nivesh_ml.db.models import DriftCheck
from nivesh_ml.errors import DataError

IST = timezone(timedelta(hours=5, minutes=30), "IST")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _check(session: Session, model: str, at: datetime, share: float = 0.5, version: str = "1") -> DriftCheck:
    return repository.record_drift_check(
        session,
        model_key=model,
        model_name=f"nivesh-{model}",
        version=version,
        window_start=at - timedelta(days=7),
        window_end=at,
        checked_at=at,
        drift_share=share,
        dataset_drift=share >= 0.3,
        columns={"utilisation": {"drifted": True, "score": 0.01, "method": "K-S p_value"}},
        reference_rows=2_000,
        current_rows=400,
        report_path="var/reports/drift/credit-risk/20260301T120000.html",
        mlflow_run_id="a" * 32,
    )


def test_a_recorded_check_reads_back_as_written(session: Session) -> None:
    _check(session, "credit-risk", NOW.astimezone(IST))
    session.commit()
    session.expunge_all()
    (row,) = repository.latest_drift_checks(session)
    assert (row.model_key, row.model_name, row.version) == ("credit-risk", "nivesh-credit-risk", "1")
    assert row.checked_at == NOW
    assert row.checked_at.tzinfo is not None
    assert row.window_end - row.window_start == timedelta(days=7)
    assert (row.drift_share, row.dataset_drift) == (0.5, True)
    assert row.columns == {"utilisation": {"drifted": True, "score": 0.01, "method": "K-S p_value"}}
    assert (row.reference_rows, row.current_rows, row.mlflow_run_id) == (2_000, 400, "a" * 32)


def test_latest_is_the_newest_check_of_each_model(session: Session) -> None:
    _check(session, "credit-risk", NOW - timedelta(days=7), share=0.9, version="1")
    _check(session, "credit-risk", NOW, share=0.1, version="2")
    _check(session, "anomaly", NOW - timedelta(days=1), share=0.4)
    session.commit()
    latest = {row.model_key: row for row in repository.latest_drift_checks(session)}
    assert set(latest) == {"credit-risk", "anomaly"}
    assert (latest["credit-risk"].version, latest["credit-risk"].drift_share) == ("2", 0.1)
    assert latest["anomaly"].drift_share == 0.4


def test_two_checks_at_the_same_instant_give_one_row(session: Session) -> None:
    _check(session, "credit-risk", NOW)
    _check(session, "credit-risk", NOW)
    session.commit()
    assert len(repository.latest_drift_checks(session)) == 1


def test_no_checks_no_rows(session: Session) -> None:
    assert repository.latest_drift_checks(session) == []


@pytest.mark.parametrize(
    ("start", "share", "message"),
    [(NOW + timedelta(seconds=1), 0.5, "ends .* before it starts"), (NOW, 1.5, "not between 0 and 1")],
)
def test_a_bad_check_is_refused(session: Session, start: datetime, share: float, message: str) -> None:
    with pytest.raises(DataError, match=message):
        repository.record_drift_check(
            session, model_key="credit-risk", model_name="nivesh-credit-risk", version="1",
            window_start=start, window_end=NOW, drift_share=share, dataset_drift=False, columns={},
            reference_rows=1, current_rows=1,
        )  # fmt: skip
