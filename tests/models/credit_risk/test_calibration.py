"""Calibration maps: fitted on held-out scores, they keep or improve the Brier score and the ranking."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from nivesh_ml.models.credit_risk.calibration import (
    PD_FLOOR,
    Calibrator,
    fit_calibrator,
    reliability_figure,
    reliability_table,
)
from nivesh_ml.models.credit_risk.metrics import brier


def overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from true PDs, and raw scores that exaggerate them (too far from the mean)."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.01, 0.4, n)
    y = (rng.random(n) < truth).astype(np.int64)
    logit = np.log(truth / (1 - truth))
    raw = 1 / (1 + np.exp(-(2.2 * logit + 1.5)))
    return raw, y


@pytest.mark.parametrize(
    ("rows", "candidates"), [(6_000, {"identity", "platt", "isotonic"}), (600, {"identity", "platt"})]
)
def test_calibration_improves_brier_on_held_out_rows(rows: int, candidates: set[str]) -> None:
    raw, y = overconfident(rows, seed=1)
    held_raw, held_y = overconfident(rows, seed=2)
    calibrator = fit_calibrator(raw, y, isotonic_min_positives=200)
    assert {method for method, _ in calibrator.cv_brier} == candidates
    assert calibrator.method != "identity"
    assert calibrator.method == min(calibrator.cv_brier, key=lambda item: item[1])[0]
    assert brier(held_y, calibrator.apply(held_raw)) < brier(held_y, held_raw)


def test_a_well_calibrated_score_stays_about_as_good() -> None:
    rng = np.random.default_rng(3)
    truth = rng.uniform(0.01, 0.4, 4_000)
    y = (rng.random(4_000) < truth).astype(np.int64)
    calibrator = fit_calibrator(truth[:2_000], y[:2_000])
    assert brier(y[2_000:], calibrator.apply(truth[2_000:])) <= brier(y[2_000:], truth[2_000:]) + 1e-3


def test_the_identity_passes_scores_through_within_the_floor() -> None:
    identity = Calibrator("identity")
    np.testing.assert_allclose(identity.apply(np.array([0.0, 0.2, 1.0])), [PD_FLOOR, 0.2, 1 - PD_FLOOR])
    assert identity.apply_one(0.3) == 0.3


@pytest.mark.parametrize("rows", [6_000, 600])
def test_the_map_is_monotone_and_bounded(rows: int) -> None:
    raw, y = overconfident(rows, seed=4)
    calibrator = fit_calibrator(raw, y)
    grid = np.linspace(0, 1, 501)
    mapped = calibrator.apply(grid)
    assert np.all(np.diff(mapped) >= 0)
    assert mapped.min() >= PD_FLOOR
    assert mapped.max() <= 1 - PD_FLOOR


@pytest.mark.parametrize("rows", [6_000, 600])
def test_one_value_and_the_array_path_agree_and_survive_json(rows: int) -> None:
    raw, y = overconfident(rows, seed=5)
    calibrator = Calibrator.from_dict(fit_calibrator(raw, y).to_dict())
    for value in (0.0, 0.013, 0.2, 0.77, 1.0):
        assert calibrator.apply_one(value) == pytest.approx(float(calibrator.apply(np.array([value]))[0]))


def test_reliability_table_and_figure() -> None:
    raw, y = overconfident(1_000, seed=6)
    table = reliability_table(y, raw, bins=10)
    assert list(table.columns) == ["rows", "predicted", "observed"]
    assert table["rows"].sum() == 1_000
    assert table["predicted"].is_monotonic_increasing
    figure = reliability_figure({"raw": table}, "test")
    assert isinstance(figure, Figure)
    assert figure.axes[0].get_xlabel() == "mean predicted probability of default"
