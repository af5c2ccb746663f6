"""Model supply chain: a registered version loads only from the configured registry's store, and
only if its pickles name trusted types.

MLflow resolves ``models:/name/version`` to wherever the version's ``source`` points, and
``create_model_version(source="/anywhere")`` is all it takes to point it elsewhere; loading then
unpickles that folder's ``python_model.pkl`` (cloudpickle), which runs whatever callables the
pickle names. So before anything is unpickled, :func:`verified_model_path` checks:

1. **Location.** The version's artefacts (``get_model_version_download_uri``) lie under the artefact
   location of the model's experiment ``nivesh/<model>`` in the configured tracking store; in the
   embedded store that location itself lies under ``<home>/mlflow``. Anything else is refused. (A
   home copied elsewhere passes: opening its store moved the locations inside the old home to the
   same places in this one, and nothing else; see :mod:`~nivesh_ml.tracking.relocation`.)
2. **Trusted types.** Each ``*.pkl`` / ``*.pickle`` file is read opcode by opcode (``pickletools``:
   nothing is executed) and every global it would import must be in :data:`TRUSTED_GLOBALS` or a
   model class of ``nivesh_ml`` (a ``PythonModel`` subclass, a dataclass or an enum), so functions
   pickled by value (cloudpickle's code objects) are refused. ``check_pickles=False`` skips this
   check (test fixtures whose models are pickled by value); the location check always runs.
   ``*.skops`` files may hold no type outside skops' defaults and ``trusted_skops_types``;
   ``*.joblib`` files (plain pickles with no such check) are refused: nivesh-ml never writes them.

The other artefacts are data, not code: ONNX graphs, XGBoost JSON, spaCy folders, safetensors,
``np.load(allow_pickle=False)`` arrays.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import pickletools  # nosec B403  # reads opcodes only; nothing here unpickles
import posixpath
from collections.abc import Collection, Iterator
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow.artifacts
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.model import PythonModel

from nivesh_ml.config import Settings
from nivesh_ml.errors import TrackingError
from nivesh_ml.tracking.store import client, registered_name

__all__ = [
    "TRUSTED_GLOBALS",
    "UntrustedModelError",
    "check_location",
    "pickle_globals",
    "verified_model_path",
]

# The callables a model pickle may name besides nivesh_ml's model classes: containers, numpy's
# array and scalar reconstructors, MLflow's pyfunc base class and the type hints MLflow records on
# a logged model (``_TypeHints`` of pandas frames). None of them runs code or touches files,
# processes or the network.
TRUSTED_GLOBALS: frozenset[str] = frozenset(
    {f"builtins:{name}" for name in ("bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset")}
    | {f"builtins:{name}" for name in ("int", "list", "object", "range", "set", "slice", "str", "tuple")}
    | {"copyreg:_reconstructor", "collections:OrderedDict", "collections:defaultdict", "collections:deque"}
    | {f"datetime:{name}" for name in ("date", "datetime", "time", "timedelta", "timezone")}
    | {"decimal:Decimal", "uuid:UUID", "pathlib:PosixPath", "pathlib:PurePosixPath"}
    | {"numpy:dtype", "numpy:ndarray"}
    | {f"numpy.{core}.multiarray:{name}" for core in ("core", "_core") for name in ("_reconstruct", "scalar")}
    | {f"numpy.{core}.numeric:_frombuffer" for core in ("core", "_core")}
    | {"mlflow.pyfunc.model:PythonModel", "mlflow.models.signature:_TypeHints"}
    | {"pandas.core.frame:DataFrame", "pandas.core.series:Series"}
)
PICKLE_SUFFIXES = (".pkl", ".pickle")
_STRINGS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
}
_GETS = {"GET", "BINGET", "LONG_BINGET"}
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_UNRESOLVED = "<unresolved>"


class UntrustedModelError(TrackingError):
    """A registered version is stored outside the configured registry or names untrusted types."""


def verified_model_path(
    settings: Settings,
    model: str,
    version: str,
    *,
    check_pickles: bool = True,
    trusted_skops_types: Collection[str] = (),
) -> str:
    """A local folder holding version ``version`` of ``model``, once its location and pickles pass.

    Load it with ``mlflow.pyfunc.load_model(path)``; raises :class:`UntrustedModelError` otherwise.
    """
    name = registered_name(model)
    uri = check_location(settings, model, version)
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=settings.tracking_uri)
        )
    except MlflowException as error:
        raise TrackingError(f"{name} v{version}: cannot fetch {uri}: {error.message}") from None
    for path in _files(local):
        where = f"{name} v{version}: {path.relative_to(local)}"
        if path.suffix in PICKLE_SUFFIXES and check_pickles:
            _check_pickle(path, where)
        elif path.suffix == ".skops":
            _check_skops(path, where, trusted_skops_types)
        elif path.suffix == ".joblib":
            raise UntrustedModelError(
                f"{where}: joblib files are unchecked pickles; nivesh-ml never loads them"
            )
    return str(local)


def check_location(settings: Settings, model: str, version: str) -> str:
    """The artefact URI of ``version``, if it lies under the registry's store for ``model``."""
    name = registered_name(model)
    mlflow_client = client(settings)
    experiment = mlflow_client.get_experiment_by_name(f"nivesh/{model}")
    if experiment is None:
        raise UntrustedModelError(f"{name} v{version}: the registry has no experiment nivesh/{model}")
    root = str(experiment.artifact_location)
    if not settings.mlflow_tracking_uri and not _within(root, settings.mlflow_dir.resolve().as_uri()):
        raise UntrustedModelError(
            f"experiment nivesh/{model} keeps artefacts at {root}, outside the registry "
            f"{settings.mlflow_dir} (a copied home is moved when its store is first opened writable: "
            "see the deployment runbook)"
        )
    uri = str(mlflow_client.get_model_version_download_uri(name, version))
    if not _within(uri, root):
        raise UntrustedModelError(
            f"{name} v{version} is stored at {uri}, outside the registry's store {root}: refusing to load it"
        )
    return uri


def pickle_globals(data: bytes) -> set[str]:
    """Every ``module:name`` the pickle ``data`` would import, read without unpickling it.

    A symbolic stack follows strings through the memo, so ``STACK_GLOBAL`` operands are resolved;
    an operand that is not a known string (or an extension-registry code) yields ``<unresolved>``.
    """
    stack: list[object] = []
    marks: list[int] = []
    memo: dict[object, object] = {}
    found: set[str] = set()
    for opcode, arg, _ in pickletools.genops(data):
        name = opcode.name
        if name == "MARK":
            marks.append(len(stack))
            continue
        if name == "MEMOIZE" or name in _PUTS:
            memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1]
            continue
        found |= _globals_of(name, arg, stack)
        _pop(opcode, stack, marks)
        if name in _STRINGS:
            stack.append(arg)
        elif name in _GETS:
            stack.append(memo.get(arg))
        else:
            stack.extend([None] * len(opcode.stack_after))
    return found


def _globals_of(name: str, arg: object, stack: list[object]) -> set[str]:
    if name in ("GLOBAL", "INST"):
        return {str(arg).replace(" ", ":", 1)}
    if name == "STACK_GLOBAL":
        module, attribute = stack[-2], stack[-1]
        resolved = isinstance(module, str) and isinstance(attribute, str)
        return {f"{module}:{attribute}" if resolved else _UNRESOLVED}
    if name.startswith("EXT"):
        return {_UNRESOLVED}
    return set()


def _pop(opcode: pickletools.OpcodeInfo, stack: list[object], marks: list[int]) -> None:
    before = opcode.stack_before
    if pickletools.markobject in before:
        del stack[marks.pop() :]
        below = before.index(pickletools.markobject)
        if below:
            del stack[-below:]
    elif before:
        del stack[-len(before) :]


def _check_pickle(path: Path, where: str) -> None:
    try:
        names = pickle_globals(path.read_bytes())
    except (ValueError, IndexError, KeyError) as error:
        raise UntrustedModelError(f"{where}: not a readable pickle ({error})") from None
    for ref in sorted(names):
        if not _trusted(ref):
            hint = " (a function pickled by value: code)" if ref.startswith("cloudpickle") else ""
            raise UntrustedModelError(f"{where} would import {ref}{hint}, which is not a trusted type")


def _trusted(ref: str) -> bool:
    if ref in TRUSTED_GLOBALS:
        return True
    module, _, attribute = ref.partition(":")
    if module != "nivesh_ml" and not module.startswith("nivesh_ml."):
        return False  # never import a module a pickle names, unless it is our own
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        return False
    if not inspect.isclass(found):
        return False
    return issubclass(found, (PythonModel, enum.Enum)) or dataclasses.is_dataclass(found)


def _check_skops(path: Path, where: str, trusted: Collection[str]) -> None:
    from skops.io import get_untrusted_types  # type: ignore[import-untyped]

    untrusted = sorted(set(get_untrusted_types(file=path)) - set(trusted))
    if untrusted:
        raise UntrustedModelError(f"{where} holds untrusted types {', '.join(untrusted)}")


def _files(folder: Path) -> Iterator[Path]:
    return (path for path in sorted(folder.rglob("*")) if path.is_file())


def _within(uri: str, root: str) -> bool:
    """Whether ``uri`` names ``root`` or something inside it (same store; no ``..`` segments)."""
    target, base = urlparse(uri), urlparse(root)
    if target.scheme in ("", "file") and base.scheme in ("", "file"):
        return _local(target.path).resolve().is_relative_to(_local(base.path).resolve())
    if (target.scheme, target.netloc) != (base.scheme, base.netloc) or ".." in target.path.split("/"):
        return False
    path, prefix = posixpath.normpath(target.path or "/"), posixpath.normpath(base.path or "/")
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _local(path: str) -> Path:
    return Path(url2pathname(path))
