"""Live quality as Prometheus gauges, for the model server's ``/metrics``.

Kept apart from :mod:`nivesh_ml.monitoring.quality` as ``drift_metrics`` is from ``drift``: the
server registers the collector, the computation is the same as ``nivesh-ml monitor quality``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Row

from nivesh_ml.config import Settings
from nivesh_ml.log import get_logger
from nivesh_ml.monitoring.quality import VersionQuality, feedback_rows, score_versions
from nivesh_ml.tracking.store import MODEL_KEYS

__all__ = ["QualityCollector"]

log = get_logger(__name__)


class QualityCollector(Collector):
    """``nivesh_live_quality{model,version,metric}`` and ``nivesh_live_feedback_count{model,version}``.

    A scrape never waits on the app DB: it answers from the last computation and, when that is older
    than ``ttl_s``, starts a new one on a background thread (so the first scrape after start-up shows
    nothing yet). A computation that fails (the DB is down) empties the cache: the gauges disappear
    rather than show stale numbers, and ``/metrics`` goes on answering.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        window: timedelta = timedelta(days=7),
        ttl_s: float = 15.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings, self.window, self.ttl_s, self.clock = settings, window, ttl_s, clock
        self._reports: list[tuple[str, list[VersionQuality]]] = []
        self._computed_at = -math.inf
        self._lock = threading.Lock()
        self._running = False

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # what the registry asks on registration: the names alone, without reading the app DB
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        self._refresh_if_stale()
        quality, count = self._families()
        for model, versions in self._reports:
            for version in versions:
                count.add_metric([model, version.version], version.feedback)
                for metric, value in version.metrics.items():
                    quality.add_metric([model, version.version, metric], value)
        yield quality
        yield count

    def _families(self) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        quality = GaugeMetricFamily(
            "nivesh_live_quality",
            f"Live quality from feedback, per model version, over the last {self.window}",
            labels=["model", "version", "metric"],
        )
        count = GaugeMetricFamily(
            "nivesh_live_feedback_count",
            f"Predictions with feedback, per model version, over the last {self.window}",
            labels=["model", "version"],
        )
        return quality, count

    def _refresh_if_stale(self) -> None:
        with self._lock:
            if self._running or time.monotonic() - self._computed_at < self.ttl_s:
                return
            self._running = True
        threading.Thread(target=self._refresh, name="nivesh-live-quality", daemon=True).start()

    def _refresh(self) -> None:
        try:
            as_of = self.clock()
            rows = feedback_rows(self.settings, MODEL_KEYS, as_of - self.window, as_of)
            by_model: dict[str, list[Row[Any]]] = {}
            for row in rows:
                by_model.setdefault(str(row.model_name).removeprefix("nivesh-"), []).append(row)
            self._reports = [(m, score_versions(m, by_model[m])) for m in MODEL_KEYS if m in by_model]
        except Exception as error:  # the DB is away, or a bug: no gauges, never a broken /metrics
            self._reports = []
            log.warning("cannot compute live quality: %s", error)
        finally:
            with self._lock:
                self._computed_at, self._running = time.monotonic(), False
