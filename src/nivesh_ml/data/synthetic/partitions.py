"""Advanced days on disk: one Parquet partition per day beside the generated history.

``nivesh-ml data advance`` never rewrites the generated files. Each new day is written to
``transactions/date=YYYY-MM-DD/part.parquet`` (Hive-style, so ``pyarrow.dataset`` reads the
folder as a table partitioned by ``date``), with the day's record in the file's key-value
metadata under :data:`META_KEY` (day, seed, scenario, scenario start, effect). The manifest lists
every advanced day (file, sha256, rows, scenario) under ``advanced`` and its ``version`` covers the
history and every partition, so appending a day changes the data set's version.

A day is written to a temporary file and renamed into place, then the manifest is replaced
atomically: an interrupted advance leaves every finished day recorded and no half file listed.

:func:`read_since` reads only the rows from an instant on (what an incremental feature build
needs): the history through a pyarrow filter on its ``timestamp`` column, the days through
partition pruning on their ``date=`` folders, both limited to what the manifest lists.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from nivesh_ml.data.versioning import file_sha256, files_version

__all__ = [
    "META_KEY",
    "PARTITIONS",
    "advanced_days",
    "day_record",
    "last_advanced",
    "partition_meta",
    "partition_path",
    "read_partitions",
    "read_since",
    "record_day",
    "unify_categories",
    "with_advanced",
    "write_partition",
]

PARTITIONS = "transactions"
META_KEY = b"nivesh_advance"
_HISTORY = ("users.parquet", "accounts.parquet", "transactions.parquet", "credit_labels.parquet")
_DATE = ds.partitioning(pa.schema([("date", pa.string())]), flavor="hive")
_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


def partition_path(folder: Path, day: dt.date) -> Path:
    """Where the transactions of ``day`` live."""
    return Path(folder) / PARTITIONS / f"date={day.isoformat()}" / "part.parquet"


def write_partition(frame: pd.DataFrame, meta: dict[str, Any], path: Path) -> None:
    """Write one day's frame with ``meta`` in its key-value metadata (temporary file, then rename)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    extra = {META_KEY: json.dumps(meta, sort_keys=True).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def partition_meta(path: Path) -> dict[str, Any]:
    """The day record stored in a partition's metadata."""
    metadata = pq.read_schema(path).metadata or {}
    record: dict[str, Any] = json.loads(metadata[META_KEY])
    return record


def advanced_days(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's records of advanced days, oldest first (empty for a data set never advanced)."""
    days: list[dict[str, Any]] = manifest.get("advanced", {}).get("days", [])
    return days


def last_advanced(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The record of the last advanced day, or None."""
    days = advanced_days(manifest)
    return days[-1] if days else None


def record_day(folder: Path, manifest: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """Add one written day to the manifest, recompute the version, and replace ``manifest.json``."""
    days = [*advanced_days(manifest), record]
    files = [folder / name for name in _HISTORY] + [folder / day["file"] for day in days]
    updated = {
        **manifest,
        "advanced": {
            "first_day": days[0]["day"],
            "last_day": record["day"],
            "rows": sum(int(day["rows"]) for day in days),
            "days": days,
        },
        "version": files_version(files, folder),
    }
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(updated, indent=2, sort_keys=True) + "\n")
    Path(tmp).chmod(0o644)
    Path(tmp).replace(folder / "manifest.json")
    return updated


def day_record(folder: Path, path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The manifest's entry for a written partition."""
    return {
        "day": meta["day"],
        "file": path.relative_to(folder).as_posix(),
        "sha256": file_sha256(path),
        "rows": meta["rows"],
        "scenario": meta["scenario"],
        "scenario_start": meta["scenario_start"],
    }


def read_partitions(
    folder: Path, manifest: dict[str, Any], columns: list[str] | None = None
) -> list[pd.DataFrame]:
    """The frames of every advanced day the manifest lists, oldest first."""
    return [
        pq.read_table(Path(folder) / day["file"], columns=columns).to_pandas(types_mapper=_STRINGS.get)
        for day in advanced_days(manifest)
    ]


def read_since(
    folder: Path, manifest: dict[str, Any], since: pd.Timestamp, columns: list[str] | None = None
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """The history's transactions at or after ``since``, and the frames of the listed days from then on.

    The history is filtered on ``timestamp`` while pyarrow scans it (its row groups are ordered by
    user, so few are skipped whole, but only matching rows reach pandas); the days are pruned by
    their ``date=`` folder before any is opened, then filtered the same way. Days come oldest first.
    """
    folder = Path(folder)
    after = [("timestamp", ">=", since)]
    history = pq.read_table(folder / "transactions.parquet", columns=columns, filters=after)
    listed = [str(folder / day["file"]) for day in advanced_days(manifest)]
    if not listed:
        return history.to_pandas(types_mapper=_STRINGS.get), []
    days = ds.dataset(
        listed, format="parquet", partitioning=_DATE, partition_base_dir=str(folder / PARTITIONS)
    )
    kept = {
        fragment.path for fragment in days.get_fragments(filter=ds.field("date") >= since.date().isoformat())
    }
    parts = [
        pq.read_table(path, columns=columns, filters=after).to_pandas(types_mapper=_STRINGS.get)
        for path in listed
        if path in kept
    ]
    return history.to_pandas(types_mapper=_STRINGS.get), parts


def with_advanced(history: pd.DataFrame, folder: Path, manifest: dict[str, Any]) -> pd.DataFrame:
    """History and advanced days as one transactions table, ordered by user then time.

    Without advanced days ``history`` comes back as it is. Categorical columns get the union
    of the parts' categories (history's first), so an unseen merchant or category of a
    scenario day is a new category of the whole column.
    """
    parts = read_partitions(folder, manifest)
    if not parts:
        return history
    table = pd.concat(unify_categories([history, *parts]), ignore_index=True)
    users = pc.unique(pa.array(history["user_id"].array))
    rank = pc.index_in(pa.array(table["user_id"].array), value_set=users).to_numpy(zero_copy_only=False)
    # History precedes every advanced day, and each part is sorted by user then time.
    return table.take(np.argsort(rank, kind="stable")).reset_index(drop=True)


def unify_categories(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """``frames`` with each categorical column sharing one category list (first seen first)."""
    out = [frame.copy(deep=False) for frame in frames]
    for column in frames[0].columns:
        if not isinstance(frames[0][column].dtype, pd.CategoricalDtype):
            continue
        names: dict[Any, None] = {}
        for frame in frames:
            names.update(dict.fromkeys(frame[column].cat.categories))
        for frame in out:
            frame[column] = frame[column].cat.set_categories(list(names))
    return out
