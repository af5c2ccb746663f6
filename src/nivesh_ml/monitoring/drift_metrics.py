"""Drift as Prometheus gauges: the latest drift check of every model, read from the app database.

Kept apart from :mod:`nivesh_ml.monitoring.drift` so the model server can export the gauges
without importing Evidently. The check runs wherever the data is (``nivesh-ml drift check``, an
Airflow task) and records its verdict in the app DB's ``drift_check`` table; every server that
shares the app DB sees it, whatever data dir (``NIVESH_HOME``) each container has.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from nivesh_ml.config import Settings
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.db.models import DriftCheck
from nivesh_ml.log import get_logger

__all__ = ["DriftCollector", "LatestCheck"]

log = get_logger(__name__)


@dataclass(frozen=True)
class LatestCheck:
    """What the gauges show of one model's newest drift check."""

    model: str
    version: str
    drift_share: float
    checked_at_s: float  # Unix time
    columns: dict[str, bool]  # feature -> drifted


class DriftCollector(Collector):
    """``nivesh_drift_share{model}``, ``nivesh_feature_drifted{model,feature}`` and
    ``nivesh_drift_checked_timestamp_seconds{model,version}`` from the app DB's ``drift_check`` table.

    The rows are cached for ``ttl_s``. A stale cache is refreshed on a background thread, and a scrape
    waits at most ``wait_s`` for it: a slow or unreachable database never holds ``/metrics`` up (it
    answers with the previous rows). A refresh that fails (the DB is away) empties the cache: the
    gauges disappear rather than show numbers nobody can vouch for, and nothing is raised.
    """

    def __init__(self, settings: Settings, *, ttl_s: float = 2.0, wait_s: float = 1.0) -> None:
        self.settings, self.ttl_s, self.wait_s = settings, ttl_s, wait_s
        self._checks: list[LatestCheck] = []
        self._read_at = -math.inf
        self._lock = threading.Lock()
        self._done: threading.Event | None = None  # set while a refresh runs

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # what the registry asks on registration: the names alone, without reading the app DB
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        running = self._refresh_if_stale()
        if running is not None:
            running.wait(self.wait_s)
        share, feature, checked = self._families()
        for check in self._checks:
            share.add_metric([check.model], check.drift_share)
            checked.add_metric([check.model, check.version], check.checked_at_s)
            for name, drifted in sorted(check.columns.items()):
                feature.add_metric([check.model, name], 1.0 if drifted else 0.0)
        yield share
        yield feature
        yield checked

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        share = GaugeMetricFamily(
            "nivesh_drift_share", "Share of drifted features, latest check", labels=["model"]
        )
        feature = GaugeMetricFamily(
            "nivesh_feature_drifted",
            "1 if the feature drifted in the latest check",
            labels=["model", "feature"],
        )
        checked = GaugeMetricFamily(
            "nivesh_drift_checked_timestamp_seconds",
            "When the latest drift check ran (Unix time), and the version it checked",
            labels=["model", "version"],
        )
        return share, feature, checked

    def _refresh_if_stale(self) -> threading.Event | None:
        with self._lock:
            if self._done is not None:
                return self._done
            if time.monotonic() - self._read_at < self.ttl_s:
                return None
            self._done = done = threading.Event()
        threading.Thread(target=self._refresh, args=(done,), name="nivesh-drift-gauges", daemon=True).start()
        return done

    def _refresh(self, done: threading.Event) -> None:
        try:
            self._checks = read_latest(self.settings)
        except Exception as error:  # the DB is away, or a bug: no gauges, never a broken /metrics
            self._checks = []
            log.warning("cannot read the latest drift checks: %s", error)
        finally:
            with self._lock:
                self._read_at, self._done = time.monotonic(), None
            done.set()


def read_latest(settings: Settings) -> list[LatestCheck]:
    """The newest drift check of every model, from the app DB of ``settings``."""
    with session_scope(app_engine(settings)) as session:
        return [_latest(row) for row in repository.latest_drift_checks(session)]


def _latest(row: DriftCheck) -> LatestCheck:
    columns = {str(name): bool(column.get("drifted")) for name, column in dict(row.columns).items()}
    return LatestCheck(
        model=row.model_key,
        version=row.version,
        drift_share=float(row.drift_share),
        checked_at_s=row.checked_at.timestamp(),
        columns=columns,
    )
