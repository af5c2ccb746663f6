"""The unsupervised Birmingham run: real card debits in, the top flagged ones out, with reasons."""

from __future__ import annotations

import pytest

from nivesh_ml.config import Settings
from nivesh_ml.models.common import TrainOptions, trainer


@pytest.mark.shared_data
def test_birmingham_run_lists_the_top_debits_with_reasons(settings: Settings) -> None:
    report = trainer("anomaly")(settings, TrainOptions(dataset="birmingham"))
    assert report.version is None  # a benchmark run: logged, never registered
    top = report.extra["top"]
    assert len(top) == 20
    scores = [row["score"] for row in top]
    assert scores == sorted(scores, reverse=True)
    assert all(row["reasons"] for row in top)
    assert report.metrics["flag_rate"] == pytest.approx(0.01, abs=0.002)
