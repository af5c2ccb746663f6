"""The compiled forest scores exactly like scikit-learn's Isolation Forest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from nivesh_ml.models.anomaly.forest import CompiledForest, average_path_length


@pytest.mark.parametrize("max_features", [1.0, 0.5])
def test_scores_equal_scikit_learn(max_features: float) -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=(3_000, 6))
    forest = IsolationForest(n_estimators=40, max_samples=128, max_features=max_features, random_state=1).fit(
        train
    )
    compiled = CompiledForest.from_sklearn(forest)
    rows = np.vstack([rng.normal(size=(500, 6)), rng.normal(6, 1, size=(5, 6))])
    np.testing.assert_allclose(compiled.score(rows), -forest.score_samples(rows), rtol=1e-12)


def test_outliers_score_higher() -> None:
    rng = np.random.default_rng(2)
    forest = IsolationForest(n_estimators=50, random_state=0).fit(rng.normal(size=(2_000, 3)))
    compiled = CompiledForest.from_sklearn(forest)
    normal, outlier = compiled.score(np.zeros((1, 3)))[0], compiled.score(np.full((1, 3), 8.0))[0]
    assert outlier > 0.6 > normal


def test_survives_its_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    forest = IsolationForest(n_estimators=10, random_state=0).fit(rng.normal(size=(500, 4)))
    compiled = CompiledForest.from_sklearn(forest)
    compiled.save(tmp_path / "forest.npz")
    loaded = CompiledForest.load(tmp_path / "forest.npz")
    rows = rng.normal(size=(50, 4))
    np.testing.assert_array_equal(loaded.score(rows), compiled.score(rows))


def test_average_path_length_matches_the_paper() -> None:
    assert average_path_length(np.array([1, 2])).tolist() == [0.0, 1.0]
    n = 256.0
    expected = 2 * (np.log(n - 1) + 0.5772156649) - 2 * (n - 1) / n
    assert float(average_path_length(np.array(n))) == pytest.approx(expected)
