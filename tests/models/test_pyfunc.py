"""The shared pyfunc shell and unwrap, against a real embedded MLflow registry."""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from nivesh_ml.config import Settings
from nivesh_ml.errors import DataError, ModelNotFoundError
from nivesh_ml.features.online import SQLiteStore
from nivesh_ml.models.pyfunc import ArtefactModel, JsonConfig, unwrap
from nivesh_ml.tracking.loading import load_model
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import start_training_run


class Greeting(ArtefactModel[str]):
    """State: the text of a file."""

    artifact = "greeting"
    payload_name = "greeting"

    def load_payload(self, path: Path) -> str:
        return path.read_text()

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, object] | None = None,
    ) -> pd.DataFrame:
        return pd.DataFrame({"greeting": [self.payload] * len(model_input)})


class Other(Greeting):
    """Another model class: a Greeting is not one."""


def _register(settings: Settings, model: PythonModel, tmp_path: Path) -> None:
    (tmp_path / "greeting.txt").write_text("namaste")
    example = pd.DataFrame({"x": [1.0]})
    with start_training_run(settings, "spending") as run:
        version = run.log_model(
            model,
            signature=infer_signature(example),
            input_example=example,
            artifacts={"greeting": str(tmp_path / "greeting.txt")},
        )
    apply_gate(settings, "spending", version.version, {"wape": 0.1}, "b" * 64)


def test_an_artefact_model_loads_its_state_and_unwraps(settings: Settings, tmp_path: Path) -> None:
    _register(settings, Greeting(), tmp_path)
    loaded = load_model(settings, "spending", "champion")
    assert loaded.pyfunc.predict(pd.DataFrame({"x": [1.0, 2.0]}))["greeting"].tolist() == ["namaste"] * 2
    assert unwrap(loaded, Greeting).payload == "namaste"
    with pytest.raises(ModelNotFoundError, match="nivesh-spending v1 holds a Greeting, not a Other"):
        unwrap(loaded, Other)


def test_nothing_loaded_is_a_clear_error_and_the_store_never_pickles(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the Greeting has no greeting loaded"):
        _ = Greeting().payload
    model = Greeting("hello")
    store = SQLiteStore(tmp_path / "online.db")
    model.bind_store(store)
    copy = pickle.loads(pickle.dumps(model))
    assert (copy._payload, copy._store) == (None, None)
    assert (model.payload, model._store) == ("hello", store)
    store.close()


@dataclass(frozen=True)
class Recipe(JsonConfig):
    windows: tuple[int, ...] = (30, 90)
    rate: float = 0.1


def test_a_config_round_trips_through_json_and_ignores_unknown_fields() -> None:
    recipe = Recipe(windows=(7,), rate=0.5)
    values = json.loads(json.dumps(recipe.to_json()))
    assert values == {"windows": [7], "rate": 0.5}
    assert Recipe.from_json(values) == recipe
    assert Recipe.from_json({**values, "retired_field": 3}) == recipe
    assert Recipe.from_json({}) == Recipe()
