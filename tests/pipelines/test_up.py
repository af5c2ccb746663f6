from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.db.migrate import current
from nivesh_ml.errors import NiveshError
from nivesh_ml.features.lookup import get_user_features
from nivesh_ml.features.online import make_online_store
from nivesh_ml.models.common import TrainOptions
from nivesh_ml.pipelines.up import API_KEY_FILE, STAGES, run_up
from nivesh_ml.serving import list_keys
from nivesh_ml.tracking.registry import list_models
from nivesh_ml.tracking.runs import start_training_run
from nivesh_ml.tracking.store import MODEL_KEYS


def test_up_runs_every_stage_and_can_run_again(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(users=30, months=2)
    run_up(settings, serve=False, models=())
    manifest = (synthetic_dir(settings) / "manifest.json").read_text()
    revision = current(settings.db_url)
    assert revision is not None
    run_up(settings, serve=False, models=())  # a second run finds everything done and changes nothing
    assert (synthetic_dir(settings) / "manifest.json").read_text() == manifest
    assert current(settings.db_url) == revision
    assert [stage.name for stage in STAGES] == [
        "generate synthetic data",
        "create app database",
        "build and materialise features",
        *(f"train {model}" for model in MODEL_KEYS),
        "create an API key",
    ]
    key = (settings.home / API_KEY_FILE).read_text().strip()
    assert key.startswith("nvk_")
    assert [info.name for info in list_keys(settings)] == ["make-run"]  # created once, not per run
    online = make_online_store(settings)
    try:
        assert get_user_features(online, "U0000001")
    finally:
        online.close()


class _Constant(PythonModel):
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return model_input


# A data set no model knows: a training attempt fails at once with a DataError.
NO_SUCH_DATA = TrainOptions(dataset="no-such-data")


def test_a_model_without_versions_is_trained(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(users=30, months=2)
    with pytest.raises(NiveshError, match="no-such-data"):  # the trainer ran, with the options given
        run_up(settings, serve=False, models=("anomaly",), options=NO_SUCH_DATA)


def test_a_registered_model_is_not_trained_again(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(users=30, months=2)
    example = pd.DataFrame({"x": [1.0]})
    with start_training_run(settings, "anomaly") as run:
        run.log_model(_Constant(), signature=infer_signature(example, example), input_example=example)
    run_up(settings, serve=False, models=("anomaly",), options=NO_SUCH_DATA)  # would raise if it trained
    assert [row["version"] for row in list_models(settings)] == ["1"]
