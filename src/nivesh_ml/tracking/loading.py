"""Loading a registered model for serving: by name and alias, cached by version."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import mlflow.pyfunc
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel

from nivesh_ml.config import Settings
from nivesh_ml.errors import ModelNotFoundError
from nivesh_ml.tracking.store import client, registered_name
from nivesh_ml.tracking.supply_chain import verified_model_path

__all__ = ["LoadedModel", "clear_cache", "load_model", "resolve_alias"]


@dataclass(frozen=True)
class LoadedModel:
    """A loaded pyfunc and the registered version it came from."""

    name: str
    version: str
    alias: str
    pyfunc: PyFuncModel


_cache: dict[tuple[str, str, str], PyFuncModel] = {}
_lock = threading.Lock()


def resolve_alias(settings: Settings, model: str, alias: str = "champion") -> str:
    """The version ``alias`` points at; ModelNotFoundError naming the model, the alias and the fix."""
    name = registered_name(model)
    try:
        return str(client(settings).get_model_version_by_alias(name, alias).version)
    except MlflowException:
        raise ModelNotFoundError(
            f"{name} has no version with alias {alias!r}; train it with `nivesh-ml train {model}` "
            f"or set the alias with `nivesh-ml models promote {model} VERSION`"
        ) from None


def load_model(settings: Settings, model: str, alias: str = "champion") -> LoadedModel:
    """The version of ``model`` that ``alias`` points at, loaded once per (store, name, version)."""
    name = registered_name(model)
    version = resolve_alias(settings, model, alias)
    key = (settings.tracking_uri, name, version)
    with _lock:
        if key not in _cache:
            # only from the configured registry's store, and only pickles of trusted types
            path = verified_model_path(
                settings, model, version, check_pickles=not settings.trust_model_pickles
            )
            _cache[key] = mlflow.pyfunc.load_model(path)
        return LoadedModel(name, version, alias, _cache[key])


def clear_cache() -> None:
    """Forget every loaded model (``/admin/cache/clear``)."""
    with _lock:
        _cache.clear()
