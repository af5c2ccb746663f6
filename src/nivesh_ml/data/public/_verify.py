"""Check a data set folder against its SOURCE.md: every file there, of the listed size and sha256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nivesh_ml.data.public._catalog import DATASETS, DatasetSpec, dataset_spec
from nivesh_ml.data.public._manifest import DATA_DIR_HINT, ManifestEntry, read_manifest
from nivesh_ml.data.versioning import file_sha256
from nivesh_ml.errors import ChecksumMismatchError, DataError, DatasetMissingError

__all__ = ["DatasetStatus", "VerifiedDataset", "verify", "verify_all"]

_RESTORE = "the file is damaged or was edited: restore it from the shipped data sets"


@dataclass(frozen=True, slots=True)
class VerifiedDataset:
    """A data set folder whose checked files match SOURCE.md.

    ``files`` maps each checked file (relative to ``path``) to its sha256.
    """

    name: str
    path: Path
    files: Mapping[str, str]

    @property
    def version(self) -> str:
        """The checked files' version; equal to ``versioning.files_version(paths, root=path)``."""
        digest = hashlib.sha256()
        for file in sorted(self.files, key=lambda relative: self.path / relative):
            digest.update(f"{file}\0{self.files[file]}\n".encode())
        return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class DatasetStatus:
    """One row of ``nivesh-ml data check``: whether a data set is there and intact, never an exception."""

    name: str
    ok: bool
    message: str
    rows: int | None
    licence: str


def verify(name: str, data_dir: Path, files: Iterable[str] | None = None) -> VerifiedDataset:
    """Check ``data_dir/name`` against its SOURCE.md: ``files`` (default: every listed file).

    Raises :class:`DatasetMissingError` when the folder, SOURCE.md or a file is not there, and
    :class:`ChecksumMismatchError` when a file's size or sha256 differs; each message is one line
    naming the data set, the file and what to do. A file is hashed once per process for each
    (path, size, mtime), so loaders can verify before every read at no cost.
    """
    dataset_spec(name)
    folder = Path(data_dir) / name
    manifest = read_manifest(name, folder)
    wanted = list(manifest) if files is None else list(dict.fromkeys(files))
    digests = {file: _check(name, folder, _listed(name, manifest, file)) for file in wanted}
    return VerifiedDataset(name=name, path=folder, files=digests)


def verify_all(data_dir: Path) -> list[DatasetStatus]:
    """The status of every shipped data set under ``data_dir``; never raises."""
    return [_status(spec, Path(data_dir)) for spec in DATASETS.values()]


def _status(spec: DatasetSpec, data_dir: Path) -> DatasetStatus:
    try:
        verified = verify(spec.name, data_dir)
    except DataError as exc:
        return DatasetStatus(spec.name, False, str(exc), None, spec.licence)
    except OSError as exc:
        return DatasetStatus(spec.name, False, f"{spec.name}: {exc}", None, spec.licence)
    message = f"{len(verified.files)} files match SOURCE.md"
    return DatasetStatus(spec.name, True, message, spec.total_rows, spec.licence)


def _listed(name: str, manifest: Mapping[str, ManifestEntry], file: str) -> ManifestEntry:
    try:
        return manifest[file]
    except KeyError:
        raise DataError(f"{name}: SOURCE.md lists no checksum for {file}; cannot verify it") from None


def _check(name: str, folder: Path, entry: ManifestEntry) -> str:
    """The file's sha256 once its size and digest match ``entry``."""
    path = folder / entry.file
    if not path.is_file():
        raise DatasetMissingError(f"{name}: {entry.file} missing under {folder}; {DATA_DIR_HINT}")
    stat = path.stat()
    if entry.size is not None and stat.st_size != entry.size:
        raise ChecksumMismatchError(
            f"{name}: {entry.file} under {folder} is {stat.st_size:,} bytes, "
            f"SOURCE.md lists {entry.size:,}; {_RESTORE}"
        )
    digest = _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if digest != entry.sha256:
        raise ChecksumMismatchError(
            f"{name}: {entry.file} under {folder} has sha256 {digest[:16]}..., "
            f"SOURCE.md lists {entry.sha256[:16]}...; {_RESTORE}"
        )
    return digest


@lru_cache(maxsize=512)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """``file_sha256`` memoised on (path, size, mtime): a changed file is hashed again."""
    del size, mtime_ns  # part of the cache key only
    return file_sha256(Path(path))
