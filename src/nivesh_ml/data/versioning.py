"""Content hashes: the version of a data set is the sha256 of what it holds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

__all__ = ["file_sha256", "files_version", "frame_version"]

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of one file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def files_version(paths: Iterable[Path], root: Path | None = None) -> str:
    """One version for several files: the sha256 over each file's relative name and digest, sorted."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        name = path.relative_to(root).as_posix() if root else path.name
        digest.update(f"{name}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def frame_version(frame: pd.DataFrame) -> str:
    """A stable hash of a frame's columns, dtypes and values (independent of how it was stored)."""
    digest = hashlib.sha256()
    digest.update("|".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items()).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
