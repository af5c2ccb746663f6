"""Champion and challenger holders per model, and hot reload from the registry.

Each (model, alias) has a :class:`Slot` holding the :class:`ServedModel` it serves. A refresh
asks the registry where each alias points; when it moved, the new version is loaded *beside*
the old one and then swapped in with one assignment, so a request always sees one whole version
(the one it picked up) and never waits for a load. If the new version fails to load, the old one
keeps serving, the slot records why, ``nivesh_model_reload_failures`` counts it, and that version
is not retried until the alias moves again or a forced reload (``POST /admin/reload``).

The served object is the pyfunc's Python model (``pyfunc.unwrap_python_model()``); the server
calls its ``serve(request: dict) -> dict`` on the hot path, never ``pyfunc.predict``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from nivesh_ml.config import Settings
from nivesh_ml.db.models import utcnow
from nivesh_ml.log import get_logger
from nivesh_ml.serving.errors import ModelUnavailableError
from nivesh_ml.serving.metrics import ServerMetrics
from nivesh_ml.tracking.loading import LoadedModel, load_model
from nivesh_ml.tracking.registry import CHALLENGER, CHAMPION
from nivesh_ml.tracking.store import MODEL_KEYS, client, registered_name

__all__ = ["Loader", "ModelSlots", "ReloadResult", "ServedModel", "Slot"]

log = get_logger(__name__)

Loader = Callable[[Settings, str, str], LoadedModel]
_ABSENT = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")  # no such model, or no such alias


@dataclass(frozen=True)
class ServedModel:
    """One loaded model version and the object whose ``serve`` answers requests."""

    key: str
    name: str
    version: str
    alias: str
    model: Any
    loaded_at: datetime
    metric: str

    def serve(self, request: dict[str, Any]) -> Any:
        """The model's answer to one request (a dict, by the serving contract)."""
        return self.model.serve(request)


@dataclass
class Slot:
    """What one alias of one model serves, where the alias points, and the last load error."""

    key: str
    alias: str
    current: ServedModel | None = None
    registered: str | None = None  # the version the alias points at (None: no such alias)
    error: str | None = None
    failed_version: str | None = None


@dataclass(frozen=True)
class ReloadResult:
    """What a refresh did to one slot."""

    model: str
    alias: str
    version: str | None
    previous: str | None
    changed: bool
    error: str | None


class ModelSlots:
    """Champion and challenger of every model, loaded from the registry and kept current."""

    def __init__(
        self,
        settings: Settings,
        metrics: ServerMetrics,
        *,
        models: Iterable[str] = MODEL_KEYS,
        loader: Loader = load_model,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._loader = loader
        self._slots = {(key, alias): Slot(key, alias) for key in models for alias in (CHAMPION, CHALLENGER)}
        self._lock = threading.Lock()  # one refresh at a time (poller and /admin/reload)
        self.registry_error: str | None = None  # why the last refresh could not ask the registry

    def champion(self, key: str) -> ServedModel:
        """The champion of ``key``; raises :class:`ModelUnavailableError` saying why there is none."""
        slot = self._slots.get((key, CHAMPION))
        served = slot.current if slot is not None else None
        if served is None:
            reason = slot.error if slot is not None and slot.error else f"model {key!r} is not served here"
            raise ModelUnavailableError(f"{registered_name(key)} is not loaded: {reason}")
        return served

    def challenger(self, key: str) -> ServedModel | None:
        """The challenger of ``key``, if one is loaded."""
        slot = self._slots.get((key, CHALLENGER))
        return slot.current if slot is not None else None

    def slots(self) -> list[Slot]:
        """Every slot, champions and challengers, model by model."""
        return list(self._slots.values())

    def refresh(self, *, force: bool = False) -> list[ReloadResult]:
        """Follow every alias to its version now, loading what moved (everything when ``force``).

        If the registry does not answer, every slot keeps what it serves and says why; the
        remaining slots do not ask again (each ask would wait out the same timeout).
        """
        with self._lock:
            mlflow_client = client(self._settings)
            results: list[ReloadResult] = []
            down: str | None = None
            for slot in self._slots.values():
                if down is None:
                    try:
                        results.append(self._refresh(mlflow_client, slot, force))
                        continue
                    except MlflowException as error:
                        down = f"the model registry did not answer: {error.message}"
                        log.error("%s; serving what is loaded", down)
                results.append(self._unreachable(slot, down))
            self.registry_error = down
            return results

    def _unreachable(self, slot: Slot, reason: str) -> ReloadResult:
        slot.error = reason
        current = slot.current.version if slot.current else None
        return ReloadResult(slot.key, slot.alias, current, current, False, reason)

    def _refresh(self, mlflow_client: MlflowClient, slot: Slot, force: bool) -> ReloadResult:
        previous = slot.current.version if slot.current else None
        name = registered_name(slot.key)
        slot.registered = _alias_version(mlflow_client, name, slot.alias)
        if slot.registered is None:
            return self._no_alias(slot, name, previous)
        if not force and previous == slot.registered:  # serving what the alias names: all is well
            slot.error, slot.failed_version = None, None
            return ReloadResult(slot.key, slot.alias, previous, previous, False, None)
        if not force and slot.registered == slot.failed_version:  # failed before: wait for a new version
            return ReloadResult(slot.key, slot.alias, previous, previous, False, slot.error)
        self._load(mlflow_client, slot, name)
        current = slot.current.version if slot.current else None
        return ReloadResult(slot.key, slot.alias, current, previous, current != previous, slot.error)

    def _no_alias(self, slot: Slot, name: str, previous: str | None) -> ReloadResult:
        if slot.alias == CHALLENGER and slot.current is not None:
            self._unpublish(slot.current)
            slot.current = None
            log.info("%s has no challenger any more; stopped serving v%s to canary/shadow", name, previous)
        if slot.current is None:
            fix = f"train it with `nivesh-ml train {slot.key}` or `nivesh-ml models promote`"
            slot.error = f"{name} has no version with alias {slot.alias!r}; {fix}"
        current = slot.current.version if slot.current else None
        return ReloadResult(slot.key, slot.alias, current, previous, current != previous, slot.error)

    def _load(self, mlflow_client: MlflowClient, slot: Slot, name: str) -> None:
        started, wanted = time.perf_counter(), slot.registered
        try:
            loaded = self._loader(self._settings, slot.key, slot.alias)
            model = loaded.pyfunc.unwrap_python_model()  # type: ignore[no-untyped-call]
            if not callable(getattr(model, "serve", None)):
                raise TypeError(f"{type(model).__name__} has no serve(request) method")
        except Exception as error:  # a version that cannot load must never take the old one down
            self._failed(slot, name, wanted, error)
            return
        served = ServedModel(
            slot.key,
            name,
            loaded.version,
            slot.alias,
            model,
            utcnow(),
            _metric(mlflow_client, name, loaded.version),
        )
        old, slot.current = slot.current, served  # the swap: one assignment
        slot.error, slot.failed_version = None, None
        self._publish(served, old)
        seconds = time.perf_counter() - started
        was = f" (was v{old.version})" if old else ""
        log.info("%s v%s serving as %s%s, loaded in %.2f s", name, served.version, slot.alias, was, seconds)

    def _failed(self, slot: Slot, name: str, version: str | None, error: Exception) -> None:
        slot.error = f"{name} v{version} failed to load: {type(error).__name__}: {error}"
        slot.failed_version = version
        self._metrics.reload_failures.labels(slot.key, slot.alias).inc()
        self._metrics.reloads.labels(slot.key, slot.alias, "failed").inc()
        kept = f"v{slot.current.version} keeps serving" if slot.current else "nothing to serve"
        log.error("%s; %s as %s", slot.error, kept, slot.alias)

    def _publish(self, served: ServedModel, old: ServedModel | None) -> None:
        if old is not None:
            self._unpublish(old)
        self._metrics.model_info.labels(served.key, served.alias, served.version).set(1)
        self._metrics.model_loaded_at.labels(served.key, served.alias).set(served.loaded_at.timestamp())
        self._metrics.reloads.labels(served.key, served.alias, "loaded").inc()

    def _unpublish(self, served: ServedModel) -> None:
        with suppress(KeyError):  # never published
            self._metrics.model_info.remove(served.key, served.alias, served.version)


def _alias_version(mlflow_client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(mlflow_client.get_model_version_by_alias(name, alias).version)
    except MlflowException as error:
        if error.error_code in _ABSENT:
            return None
        raise


def _metric(mlflow_client: MlflowClient, name: str, version: str) -> str:
    try:
        tags = mlflow_client.get_model_version(name, version).tags or {}
    except MlflowException:
        return ""
    metric, score = tags.get("nivesh.eval.metric", ""), tags.get("nivesh.eval.score", "")
    try:
        return f"{metric} {float(score):.4f}" if metric and score else ""
    except ValueError:
        return f"{metric} {score}"
