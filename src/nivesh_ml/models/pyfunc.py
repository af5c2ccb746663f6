"""What the served pyfuncs of several models share: the Python object inside a loaded version, the
shell of a model whose state is one logged artefact read beside an online feature store, and the
config that travels inside that artefact as JSON.

:func:`unwrap` is how training (the champion's metrics) and ``evaluate`` get at our own class in
a registered version. :class:`ArtefactModel` holds the loading, the online-store binding and the
pickling rule (the artefact travels as an MLflow artefact, the store never does) that the
spending forecaster and the anomaly detector would otherwise each write out; :class:`JsonConfig`
their configs' round trip to JSON.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

from mlflow.pyfunc.model import PythonModel, PythonModelContext

from nivesh_ml.errors import DataError, ModelNotFoundError
from nivesh_ml.features.online import OnlineStore
from nivesh_ml.tracking.loading import LoadedModel

__all__ = ["ArtefactModel", "JsonConfig", "unwrap"]

T = TypeVar("T")
P = TypeVar("P")


def unwrap(loaded: LoadedModel, kind: type[T]) -> T:
    """The ``kind`` instance inside a loaded pyfunc; ModelNotFoundError when the version holds another."""
    pyfunc: Any = loaded.pyfunc  # unwrap_python_model is untyped in MLflow
    model = pyfunc.unwrap_python_model()
    if not isinstance(model, kind):
        raise ModelNotFoundError(
            f"{loaded.name} v{loaded.version} holds a {type(model).__name__}, not a {kind.__name__}"
        )
    return model


class ArtefactModel(PythonModel, Generic[P]):
    """A pyfunc whose state ``P`` is loaded from the artefact named :attr:`artifact`.

    Subclasses set :attr:`artifact` and :attr:`payload_name` (for the error when nothing is loaded)
    and implement :meth:`load_payload`.
    """

    artifact: ClassVar[str]
    payload_name: ClassVar[str]

    def __init__(self, payload: P | None = None) -> None:
        self._payload = payload
        self._store: OnlineStore | None = None

    def load_payload(self, path: Path) -> P:
        """Read the state from the logged artefact at ``path``."""
        raise NotImplementedError

    def load_context(self, context: PythonModelContext) -> None:
        """Load the artefact logged with the model."""
        self._payload = self.load_payload(Path(context.artifacts[self.artifact]))

    @property
    def payload(self) -> P:
        """The loaded state; DataError when nothing is loaded yet."""
        if self._payload is None:
            raise DataError(f"the {type(self).__name__} has no {self.payload_name} loaded")
        return self._payload

    def bind_store(self, store: OnlineStore | None) -> None:
        """Read users' features from ``store`` when a call does not pass them."""
        self._store = store

    def __getstate__(self) -> dict[str, Any]:
        # MLflow pickles the instance: the state travels as the artefact, the store never does.
        return {"_payload": None, "_store": None}


class JsonConfig:
    """A frozen-dataclass config stored with every model version as JSON (mix into the dataclass)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """The config as JSON-ready values (tuples become lists)."""
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Self:
        """The config back from :meth:`to_json`, ignoring fields this version does not know."""
        known: dict[str, Any] = {
            name: tuple(values[name]) if isinstance(values[name], list) else values[name]
            for name in cls.__dataclass_fields__
            if name in values
        }
        return cls(**known)
