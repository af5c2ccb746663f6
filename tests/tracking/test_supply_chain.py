"""Model supply chain: a version loads only from the registry's own store, and only if its pickles
name trusted types. Real MLflow stores (embedded, and the server on PostgreSQL); no pickle under
test is ever unpickled.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import mlflow
import numpy as np
import pytest
import skops.io
from mlflow.pyfunc.model import PythonModel

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings
from nivesh_ml.models.credit_risk.model import CreditRiskModel
from nivesh_ml.tracking.runs import git_commit
from nivesh_ml.tracking.store import client, ensure_experiment, registered_name
from nivesh_ml.tracking.supply_chain import UntrustedModelError, pickle_globals, verified_model_path

MODEL = "credit-risk"


def _register(settings: Settings, python_model: PythonModel) -> str:
    """Log ``python_model`` into ``nivesh/credit-risk`` and register it; returns the version."""
    with mlflow.start_run(experiment_id=ensure_experiment(settings, MODEL)):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=python_model,
            registered_model_name=registered_name(MODEL),
            pip_requirements=["mlflow"],  # given, so MLflow does not load the model to infer them
        )
    return str(info.registered_model_version)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One embedded registry for the trusted-type tests; each registers and tampers with its own version."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            patch.delenv(name)
        for name, value in OFFLINE_ENV.items():
            patch.setenv(name, value)
        return load_settings(_env_file=None, home=tmp_path_factory.mktemp("supply-chain") / "var")


class _Shell:
    """Unpickling it would run a shell command."""

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return (os.system, ("echo owned",))


# --- location ----------------------------------------------------------------------------------


def test_a_version_in_the_registry_store_passes_and_loads(tracking_settings: Settings) -> None:
    version = _register(tracking_settings, PythonModel())
    folder = Path(verified_model_path(tracking_settings, MODEL, version))
    assert (folder / "python_model.pkl").is_file()
    assert type(mlflow.pyfunc.load_model(str(folder)).unwrap_python_model()) is PythonModel
    # A real model class, with the type hints MLflow records on it, passes too.
    real = _register(tracking_settings, CreditRiskModel())
    assert Path(verified_model_path(tracking_settings, MODEL, real), "python_model.pkl").is_file()


def test_a_version_whose_source_points_elsewhere_is_refused(
    tracking_settings: Settings, tmp_path: Path
) -> None:
    good = _register(tracking_settings, PythonModel())
    embedded = not tracking_settings.mlflow_tracking_uri
    if embedded:
        elsewhere = tmp_path / "elsewhere"
        shutil.copytree(verified_model_path(tracking_settings, MODEL, good), elsewhere)
        source = elsewhere.as_uri()
    else:
        source = "s3://someone-elses-bucket/nivesh-credit-risk/model"
    name = registered_name(MODEL)
    rogue = str(client(tracking_settings).create_model_version(name, source=source).version)
    if embedded:  # MLflow alone follows the pointer: this is the hole the check closes
        assert mlflow.pyfunc.load_model(f"models:/{name}/{rogue}") is not None
    with pytest.raises(UntrustedModelError, match=rf"{name} v{rogue} is stored at .*outside the registry"):
        verified_model_path(tracking_settings, MODEL, rogue)
    assert verified_model_path(tracking_settings, MODEL, good)


def test_an_experiment_whose_store_lies_outside_the_home_is_refused(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    outside = (tmp_path / "outside").as_uri()
    client(settings).create_experiment(f"nivesh/{MODEL}", artifact_location=outside)
    version = _register(settings, PythonModel())
    with pytest.raises(UntrustedModelError, match=r"artefacts at file://.*/outside, outside the registry"):
        verified_model_path(settings, MODEL, version)


# --- trusted types -----------------------------------------------------------------------------


def test_a_poisoned_pickle_in_the_store_is_refused_before_anything_unpickles_it(store: Settings) -> None:
    version = _register(store, PythonModel())
    folder = Path(verified_model_path(store, MODEL, version))
    (folder / "python_model.pkl").write_bytes(pickle.dumps(_Shell()))
    with pytest.raises(UntrustedModelError, match=r"python_model.pkl would import posix:system, which is"):
        verified_model_path(store, MODEL, version)
    # The switch test fixtures use for models pickled by value skips this check only.
    assert verified_model_path(store, MODEL, version, check_pickles=False) == str(folder)


def test_joblib_and_untrusted_skops_files_are_refused(store: Settings) -> None:
    version = _register(store, PythonModel())
    folder = Path(verified_model_path(store, MODEL, version))
    skops.io.dump({"counts": __import__("collections").Counter("ab")}, folder / "extra.skops")
    with pytest.raises(UntrustedModelError, match=r"extra.skops holds untrusted types collections.Counter"):
        verified_model_path(store, MODEL, version)
    assert verified_model_path(store, MODEL, version, trusted_skops_types=["collections.Counter"])
    (folder / "weights.joblib").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(UntrustedModelError, match=r"weights.joblib: joblib files are unchecked pickles"):
        verified_model_path(store, MODEL, version, trusted_skops_types=["collections.Counter"])


# Memo indirection (BINPUT, POP, BINGET) before STACK_GLOBAL, so the operands are not the last
# strings the pickle pushed.
_MEMO_TRICK = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94\x8c\x04junk0000h\x00h\x01\x93."


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        pytest.param(pickle.dumps(_Shell(), protocol=2), "posix:system", id="GLOBAL"),
        pytest.param(pickle.dumps(_Shell(), protocol=5), "posix:system", id="STACK_GLOBAL"),
        pytest.param(_MEMO_TRICK, "os:system", id="memo"),
        pytest.param(pickle.dumps(getattr), "builtins:getattr", id="getattr"),
        pytest.param(pickle.dumps(git_commit), "nivesh_ml.tracking.runs:git_commit", id="our-function"),
        pytest.param(cloudpickle.dumps(lambda: 0), "cloudpickle.cloudpickle:_make_function", id="by-value"),
    ],
)
def test_pickle_globals_names_what_unpickling_would_import(payload: bytes, named: str) -> None:
    assert named in pickle_globals(payload)


def test_code_pickled_by_value_is_refused_with_the_reason(store: Settings) -> None:
    version = _register(store, PythonModel())
    folder = Path(verified_model_path(store, MODEL, version))
    (folder / "python_model.pkl").write_bytes(cloudpickle.dumps(lambda: 0))
    with pytest.raises(UntrustedModelError, match=r"pickled by value: code"):
        verified_model_path(store, MODEL, version)


TRUSTED_VALUES = {
    "model-class": CreditRiskModel(),
    "ndarray": np.arange(3.0),
    "numpy-scalar": np.float64(1.5),
    "containers": {"when": dt.datetime(2025, 1, 1, tzinfo=dt.UTC), "ids": {1, 2}, "path": Path("a")},
}


def test_trusted_values_pass(store: Settings) -> None:
    version = _register(store, PythonModel())
    folder = Path(verified_model_path(store, MODEL, version))
    for name, value in TRUSTED_VALUES.items():
        (folder / f"{name}.pkl").write_bytes(pickle.dumps(value, protocol=5))
    assert verified_model_path(store, MODEL, version) == str(folder)
