"""Write and read the synthetic data set as Parquet, with a manifest, atomically.

On disk (``out_dir``): ``users.parquet``, ``accounts.parquet``, ``transactions.parquet``,
``credit_labels.parquet`` and ``manifest.json`` (generator, config, row counts, sha256 of each
file, the data set's version, anomaly and default rates); once ``data advance`` has run, one
partition a day under ``transactions/date=YYYY-MM-DD/`` (see :mod:`partitions`). Parquet is
written by pyarrow with zstd, no index, the frames' fixed row order and no wall-clock
timestamps, so the same config gives the same bytes. A write goes to a temporary folder beside
``out_dir`` that is renamed into place, so an interrupted run leaves no half data set (and an
old one stays whole).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nivesh_ml.data import schemas
from nivesh_ml.data.synthetic.generator import TABLES, GeneratorConfig, SyntheticData
from nivesh_ml.data.synthetic.partitions import with_advanced
from nivesh_ml.data.versioning import file_sha256, files_version
from nivesh_ml.errors import DataError, DatasetMissingError

__all__ = [
    "GENERATOR",
    "GENERATOR_VERSION",
    "MANIFEST",
    "dataset_config",
    "read_dataset",
    "read_manifest",
    "write_dataset",
]

GENERATOR = "nivesh-synthetic"
GENERATOR_VERSION = 1
MANIFEST = "manifest.json"


def write_dataset(data: SyntheticData, out_dir: Path) -> dict[str, Any]:
    """Validate the frames, then write them and ``manifest.json`` into ``out_dir`` atomically.

    Returns the manifest.
    """
    for name, frame in data.frames().items():
        schemas.validate(frame, schemas.SCHEMAS[name])
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        for name, frame in data.frames().items():
            _write_parquet(frame, staging / f"{name}.parquet")
        manifest = _manifest(data, staging)
        (staging / MANIFEST).write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def read_dataset(out_dir: Path) -> SyntheticData:
    """Read a data set written by :func:`write_dataset`, with the days ``data advance`` appended
    (see :mod:`partitions`) in its transactions."""
    out_dir = Path(out_dir)
    manifest = read_manifest(out_dir)
    missing = [f"{name}.parquet" for name in TABLES if not (out_dir / f"{name}.parquet").is_file()]
    if manifest is None or missing:
        what = ", ".join(missing) or MANIFEST
        raise DatasetMissingError(
            f"no synthetic data set at {out_dir} ({what} missing): run `nivesh-ml data generate`"
        )
    frames = {name: _read_parquet(out_dir / f"{name}.parquet") for name in TABLES}
    frames["transactions"] = with_advanced(frames["transactions"], out_dir, manifest)
    return SyntheticData(config=dataset_config(manifest, out_dir), **frames)


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of the data set in ``out_dir``, or None if there is none (or it is unreadable)."""
    path = Path(out_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def dataset_config(manifest: dict[str, Any], out_dir: Path) -> GeneratorConfig:
    """The generator config a manifest records."""
    try:
        config = manifest["config"]
        return GeneratorConfig(
            users=int(config["users"]),
            months=int(config["months"]),
            seed=int(config["seed"]),
            end_date=dt.date.fromisoformat(config["end_date"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"{out_dir / MANIFEST} is damaged ({exc!r}): run `nivesh-ml data generate --force`"
        ) from None


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def _read_parquet(path: Path) -> pd.DataFrame:
    mapping = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
    return pq.read_table(path).to_pandas(types_mapper=mapping.get)


def _manifest(data: SyntheticData, folder: Path) -> dict[str, Any]:
    paths = [folder / f"{name}.parquet" for name in TABLES]
    tx = data.transactions
    return {
        "generator": GENERATOR,
        "generator_version": GENERATOR_VERSION,
        "config": data.config.to_json(),
        "rows": {name: len(frame) for name, frame in data.frames().items()},
        "files": {path.name: file_sha256(path) for path in paths},
        "version": files_version(paths, folder),
        "anomaly_rate": round(float(tx["is_anomaly"].mean()) if len(tx) else 0.0, 6),
        "default_rate": round(float(data.credit_labels["default_12m"].mean()), 6),
    }


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    """Rename ``staging`` to ``out_dir``; an existing ``out_dir`` is moved aside first and removed after."""
    staging.chmod(0o755)  # mkdtemp makes it owner-only; the data set is not a secret
    aside: Path | None = None
    if out_dir.exists():
        aside = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        out_dir.replace(aside / out_dir.name)
    try:
        staging.replace(out_dir)
    except BaseException:
        if aside is not None:  # put the old data set back rather than leave none
            (aside / out_dir.name).replace(out_dir)
            shutil.rmtree(aside, ignore_errors=True)
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
