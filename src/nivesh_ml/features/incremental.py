"""Incremental feature builds: after ``data advance``, read only the rows a new snapshot can see.

Every view looks back a bounded time (:func:`~nivesh_ml.features.builders.earliest_read`: 365
days or 12 calendar months, from midnight), but for two things, one row per entity: a user's
history length counts from their first transaction, and a deposit account's end-of-day balance
is carried forward from its last row, however old. So every build leaves beside the snapshots a
*build state*, ``<features_dir>/_build_state.parquet``: those rows (each user's first
transaction and each account's last row with a balance, before ``since``), ``since`` itself (the
midnight the latest snapshot reads from), the data it covers (the history's file hashes, the
advanced days by day and sha256) and its *lineage* (the data versions built along it).

The next build, when only day partitions were appended since (same history files, the recorded
days a prefix of the manifest's), reads the history's rows from ``since`` on (a pyarrow filter on
``timestamp``), the days from ``since``'s day on (pruned by their ``date=`` folder), and puts the
carried rows in front. Every row a snapshot as of a later instant reads is there, in the same
order per user, so the snapshot is identical to one built from the whole data set. Snapshots of
earlier instants stay as they are: days appended after a version cannot reach a snapshot as of an
instant before the first of them. Anything else makes a full build: no state, a changed history,
a rewritten day, ``force``, or a snapshot to build that reads from before ``since`` (a new view).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nivesh_ml.data.synthetic import read_dataset
from nivesh_ml.data.synthetic.partitions import advanced_days, read_since, unify_categories
from nivesh_ml.features.builders import SourceFrames, earliest_read
from nivesh_ml.features.builders._common import TRANSACTION_COLUMNS
from nivesh_ml.features.definitions import FeatureView
from nivesh_ml.log import get_logger

__all__ = ["STATE_FILE", "BuildSource", "carried_rows", "read_full", "read_incremental", "save_state"]

log = get_logger(__name__)

STATE_FILE = "_build_state.parquet"
_META = b"nivesh_feature_build"
_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


@dataclass(frozen=True)
class BuildSource:
    """What a build reads: the sources, how they were read, and which earlier snapshots stay current."""

    sources: SourceFrames
    version: str  # the data set's version
    read: dict[str, Any]  # how the transactions were read: every snapshot built records it
    since: pd.Timestamp | None = None  # nothing before it was read but the carried rows; None: all was
    kept_until: dict[str, pd.Timestamp] = field(default_factory=dict)  # earlier version -> last as_of kept
    lineage: tuple[tuple[str, int], ...] = ()  # (version, advanced days it held) built before, oldest first

    def is_current(self, meta: dict[str, Any] | None, as_of: pd.Timestamp) -> bool:
        """Whether a snapshot with ``meta`` as of ``as_of`` is what this data would give."""
        if meta is None:
            return False
        version = meta.get("source_version")
        if version == self.version:
            return True
        until = self.kept_until.get(str(version))
        return until is not None and as_of <= until

    def can_build(self, view: FeatureView, as_of: pd.Timestamp) -> bool:
        """Whether every row ``view`` reads as of ``as_of`` was read."""
        return self.since is None or earliest_read(as_of, [view]) >= self.since


@dataclass(frozen=True)
class _State:
    since: pd.Timestamp
    files: dict[str, str]
    days: list[tuple[str, str]]
    lineage: tuple[tuple[str, int], ...]
    carried: pd.DataFrame


def read_full(data_dir: Path, manifest: dict[str, Any]) -> BuildSource:
    """The whole data set."""
    data = read_dataset(data_dir)
    read = {"mode": "full", "read_from": None, "rows_read": len(data.transactions)}
    return BuildSource(SourceFrames.from_synthetic(data), str(manifest["version"]), read)


def read_incremental(data_dir: Path, manifest: dict[str, Any], features_dir: Path) -> BuildSource | None:
    """The rows from the last build's ``since`` on, with the carried ones; None (and why, in the log)
    when the data changed otherwise than by appended days since that build, or it left no state."""
    state = _read_state(Path(features_dir) / STATE_FILE)
    reason = _unusable(state, manifest)
    if state is None or reason:
        log.info("feature build reads the whole data set", extra={"reason": reason})
        return None
    history, parts = read_since(data_dir, manifest, state.since, list(TRANSACTION_COLUMNS))
    transactions = pd.concat(unify_categories([state.carried, history, *parts]), ignore_index=True)
    read = {
        "mode": "incremental",
        "read_from": state.since.isoformat(),
        "rows_read": len(history) + sum(len(part) for part in parts),
        "history_rows_read": len(history),
        "days_read": len(parts),
        "carried_rows": len(state.carried),
    }
    sources = SourceFrames(_table(data_dir, "users"), _table(data_dir, "accounts"), transactions)
    days = advanced_days(manifest)
    kept = {version: pd.Timestamp(days[held]["day"]) for version, held in state.lineage if held < len(days)}
    return BuildSource(sources, str(manifest["version"]), read, state.since, kept, state.lineage)


def save_state(
    features_dir: Path, source: BuildSource, manifest: dict[str, Any], latest: pd.Timestamp
) -> Path:
    """Record what the next build needs after one whose latest snapshot is as of ``latest``."""
    since = earliest_read(latest)
    if source.since is not None:  # never moves back: nothing before source.since was read
        since = max(since, source.since)
    days = advanced_days(manifest)
    entry = (source.version, len(days))
    lineage = source.lineage if source.lineage[-1:] == (entry,) else (*source.lineage, entry)
    meta = {
        "since": since.isoformat(),
        "files": manifest["files"],
        "days": [[day["day"], day["sha256"]] for day in days],
        "lineage": [list(item) for item in lineage],
    }
    path = Path(features_dir) / STATE_FILE
    _write_state(path, carried_rows(source.sources.transactions, since), meta)
    return path


def carried_rows(transactions: pd.DataFrame, before: pd.Timestamp) -> pd.DataFrame:
    """The rows before ``before`` that a view reading from ``before`` on still sees: each user's first
    transaction and each account's last row with a balance, in ``transactions``' order.

    First and last as the builders order rows: by time, ties in ``transactions``' order. Only
    the columns the builders read are kept.
    """
    stamps = transactions["timestamp"].to_numpy().astype("datetime64[ns]").view(np.int64)
    old = np.flatnonzero(stamps < pd.Timestamp(before).value)
    with_balance = old[transactions["balance_after"].notna().to_numpy()[old]]
    first = _edge_rows(transactions["user_id"], stamps, old, last=False)
    last = _edge_rows(transactions["account_id"], stamps, with_balance, last=True)
    rows = transactions.take(np.union1d(first, last))  # sorted positions: the frame's order
    return rows.loc[:, list(TRANSACTION_COLUMNS)].reset_index(drop=True)


def _edge_rows(keys: pd.Series, stamps: np.ndarray, rows: np.ndarray, *, last: bool) -> np.ndarray:
    """Of ``rows``, the first (or last) one of each key by time, ties in row order."""
    codes, _ = pd.factorize(keys.array.take(rows))
    order = np.lexsort((stamps[rows], codes))  # stable: equal times keep the rows' order
    pick = ~pd.Series(codes[order]).duplicated(keep="last" if last else "first").to_numpy()
    return np.asarray(rows[order[pick]], dtype=np.int64)


def _unusable(state: _State | None, manifest: dict[str, Any]) -> str | None:
    """Why ``state`` cannot serve an incremental build of the data ``manifest`` describes; None if it can."""
    if state is None:
        return "no build state (no build yet, or an unreadable one)"
    if state.files != manifest.get("files"):
        return "the generated history changed since the last build"
    days = [(day["day"], day["sha256"]) for day in advanced_days(manifest)]
    if days[: len(state.days)] != state.days:
        return "advanced days were rewritten since the last build"
    return None


def _write_state(path: Path, carried: pd.DataFrame, meta: dict[str, Any]) -> None:
    """The carried rows with ``meta`` in the file's key-value metadata (temporary file, then rename)."""
    table = pa.Table.from_pandas(carried, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META: json.dumps(meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_state(path: Path) -> _State | None:
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {})[_META])
        return _State(
            since=pd.Timestamp(meta["since"]).as_unit("ns"),
            files=dict(meta["files"]),
            days=[(str(day), str(sha)) for day, sha in meta["days"]],
            lineage=tuple((str(version), int(held)) for version, held in meta["lineage"]),
            carried=table.to_pandas(types_mapper=_STRINGS.get),
        )
    except (OSError, KeyError, TypeError, ValueError, pa.ArrowException) as exc:
        log.warning("feature build state unreadable", extra={"path": str(path), "error": repr(exc)})
        return None


def _table(data_dir: Path, name: str) -> pd.DataFrame:
    return pq.read_table(Path(data_dir) / f"{name}.parquet").to_pandas(types_mapper=_STRINGS.get)
