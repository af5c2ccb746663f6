"""Drift as Prometheus gauges: the latest summary of every model's drift check.

Kept apart from :mod:`nivesh_ml.monitoring.drift` so the model server can export the gauges
without importing Evidently (it only reads ``<home>/reports/drift/<model>/latest.json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from nivesh_ml.config import Settings

__all__ = ["DriftCollector"]


class DriftCollector(Collector):
    """Prometheus gauges from the latest drift summary of every model under ``<home>/reports/drift``."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.home / "reports" / "drift"

    def collect(self) -> Iterator[GaugeMetricFamily]:
        share = GaugeMetricFamily(
            "nivesh_drift_share", "Share of drifted features, latest check", labels=["model"]
        )
        feature = GaugeMetricFamily(
            "nivesh_feature_drifted",
            "1 if the feature drifted in the latest check",
            labels=["model", "feature"],
        )
        for latest in sorted(self.root.glob("*/latest.json")) if self.root.exists() else []:
            summary = json.loads(latest.read_text())
            share.add_metric([summary["model"]], summary["drift_share"])
            for name, column in summary["columns"].items():
                feature.add_metric([summary["model"], name], 1.0 if column["drifted"] else 0.0)
        yield share
        yield feature
