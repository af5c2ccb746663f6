"""The offline feature store: dated Parquet snapshots of each view, and point-in-time training joins.

Layout under ``root`` (``Settings.features_dir``)::

    <view>/v<version>/as_of=<YYYYMMDDTHHMMSS>/data.parquet   the view's frame as of that instant
    <view>/v<version>/as_of=<YYYYMMDDTHHMMSS>/_meta.json     view, version, as_of, rows, source_version,
                                                             materialized_at (UTC, ISO 8601), and
                                                             build: how the data was read, if told

A snapshot is written to a hidden temporary folder beside its place and renamed into it, so a
reader sees a whole snapshot or none. :meth:`OfflineStore.get_training_frame` joins each event
to the latest snapshot at or before its timestamp and no older than the view's TTL: since a
snapshot as of ``t`` was built from transactions strictly before ``t``, no feature can carry
information from after the event.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.definitions import ENTITY_COLUMNS, FeatureView, check_frame

__all__ = ["OfflineStore", "default_snapshot_times"]

_DATA = "data.parquet"
_META = "_meta.json"
_PREFIX = "as_of="
_STAMP = "%Y%m%dT%H%M%S"
_ARROW_TYPES: dict[str, pa.DataType] = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "list[string]": pa.list_(pa.string()),
}
_ROW = "__row"
_AS_OF = "__as_of"


class OfflineStore:
    """Parquet snapshots of feature views under ``root``; see the module docstring."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)  # nothing is created until the first write

    # --- writing ------------------------------------------------------------------------------

    def write_snapshot(
        self,
        view: FeatureView,
        frame: pd.DataFrame,
        *,
        source_version: str,
        build: Mapping[str, Any] | None = None,
    ) -> Path:
        """Store ``frame`` (one as_of, the view's exact schema) as a snapshot; returns its folder.

        ``build`` (how the source data was read: full or incremental, and which range) goes into
        the metadata as it is. A snapshot already there for the same as_of is replaced.
        """
        check_frame(view, frame)
        as_of = _single_as_of(view, frame)
        target = self._snapshot_dir(view, as_of)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            staging.mkdir()
            pq.write_table(_to_arrow(view, frame), staging / _DATA)
            meta = _meta(view, as_of, len(frame), source_version)
            if build is not None:
                meta["build"] = dict(build)
            (staging / _META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            _swap_in(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    # --- reading ------------------------------------------------------------------------------

    def snapshots(self, view: FeatureView) -> list[pd.Timestamp]:
        """The as_of instants of the view's complete snapshots, oldest first."""
        folder = self._view_dir(view)
        if not folder.is_dir():
            return []
        found = [
            _parse_stamp(path.name[len(_PREFIX) :])
            for path in folder.iterdir()
            if path.name.startswith(_PREFIX) and (path / _META).is_file()
        ]
        return sorted(stamp for stamp in found if stamp is not None)

    def snapshot_meta(self, view: FeatureView, as_of: pd.Timestamp) -> dict[str, Any] | None:
        """The snapshot's ``_meta.json`` as a dict; None if there is no snapshot as of ``as_of``."""
        path = self._snapshot_dir(view, pd.Timestamp(as_of)) / _META
        if not path.is_file():
            return None
        meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return meta

    def read_snapshot(self, view: FeatureView, as_of: pd.Timestamp) -> pd.DataFrame:
        """The view's frame as of ``as_of``, with its declared dtypes (lists as lists of str)."""
        folder = self._snapshot_dir(view, pd.Timestamp(as_of))
        if not (folder / _META).is_file():
            have = ", ".join(stamp.isoformat() for stamp in self.snapshots(view)) or "none"
            raise FeatureStoreError(
                f"no snapshot of {view.key} as of {pd.Timestamp(as_of)}; snapshots: {have}"
            )
        frame = _from_arrow(view, pq.read_table(folder / _DATA))
        check_frame(view, frame)
        return frame

    def read_latest(self, view: FeatureView) -> pd.DataFrame:
        """The view's most recent snapshot."""
        stamps = self.snapshots(view)
        if not stamps:
            raise FeatureStoreError(
                f"no snapshot of {view.key} under {self.root}: run `nivesh-ml features build` first"
            )
        return self.read_snapshot(view, stamps[-1])

    # --- point-in-time joins ------------------------------------------------------------------

    def get_training_frame(self, entity_df: pd.DataFrame, views: Sequence[FeatureView]) -> pd.DataFrame:
        """``entity_df`` (user_id, event_timestamp, any label columns) with each view's features.

        For each row and view: the features of the latest snapshot with ``as_of <= event_timestamp``
        whose age ``event_timestamp - as_of`` is at most the view's TTL, else missing. So that a
        column's dtype never depends on whether some row missed, int64 and bool features come as
        float64 (NaN where missing) and string and list features as objects (None where missing).
        Feature columns are named ``<view>__<feature>``; rows keep ``entity_df``'s order and index.
        """
        left = _entity_keys(entity_df)
        columns: dict[str, Any] = {}
        for view in _distinct(views):
            joined = self._join_view(left, view)
            columns.update(
                {f"{view.name}__{f.name}": _training_column(joined[f.name], f.dtype) for f in view.features}
            )
        clash = sorted(set(columns) & set(entity_df.columns))
        if clash:
            raise FeatureStoreError(f"entity_df already has feature columns {clash[:3]}")
        features = pd.DataFrame(columns, index=entity_df.index)
        return pd.concat([entity_df, features], axis=1)

    def _join_view(self, left: pd.DataFrame, view: FeatureView) -> pd.DataFrame:
        """Per row of ``left`` (sorted by event time), the view's features, back in ``left``'s row order."""
        history = self._history(view)
        merged = pd.merge_asof(
            left,
            history,
            left_on="event_timestamp",
            right_on=_AS_OF,
            by="user_id",
            direction="backward",
            allow_exact_matches=True,
            tolerance=pd.Timedelta(view.ttl),
        )
        return merged.sort_values(_ROW).reset_index(drop=True)

    def _history(self, view: FeatureView) -> pd.DataFrame:
        """Every snapshot of the view stacked: user_id, the as_of column, features; sorted by as_of."""
        frames = [self.read_snapshot(view, stamp) for stamp in self.snapshots(view)]
        if not frames:
            frames = [_empty(view)]
        stacked = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        stacked = stacked.rename(columns={"event_timestamp": _AS_OF})
        return stacked.sort_values(_AS_OF, kind="stable").reset_index(drop=True)

    # --- paths --------------------------------------------------------------------------------

    def _view_dir(self, view: FeatureView) -> Path:
        return self.root / view.name / f"v{view.version}"

    def _snapshot_dir(self, view: FeatureView, as_of: pd.Timestamp) -> Path:
        return self._view_dir(view) / f"{_PREFIX}{as_of.strftime(_STAMP)}"


def default_snapshot_times(transactions: pd.DataFrame, count: int = 6) -> list[pd.Timestamp]:
    """Snapshot instants for a data set: the starts of its last ``count`` months, then "latest".

    Month starts at or before the first transaction are left out (a snapshot there would see
    nothing); "latest" is the whole second just after the last transaction.
    """
    if count < 0:
        raise FeatureStoreError(f"count must be 0 or more, got {count}")
    if transactions.empty:
        return []
    first, last = transactions["timestamp"].min(), transactions["timestamp"].max()
    latest = last.floor("s") + pd.Timedelta(seconds=1)
    newest_month = last.to_period("M").to_timestamp()
    starts = pd.date_range(end=newest_month, periods=count, freq="MS") if count else pd.DatetimeIndex([])
    kept = [pd.Timestamp(stamp).as_unit("ns") for stamp in starts if stamp > first]
    return [*kept, latest.as_unit("ns")]


# --- helpers ----------------------------------------------------------------------------------


def _single_as_of(view: FeatureView, frame: pd.DataFrame) -> pd.Timestamp:
    stamps = frame["event_timestamp"].unique()
    if len(stamps) != 1:
        raise FeatureStoreError(
            f"a snapshot of {view.key} needs exactly one event_timestamp (its as_of), found {len(stamps)}"
        )
    as_of = pd.Timestamp(stamps[0])
    if as_of != as_of.floor("s"):
        raise FeatureStoreError(f"as_of {as_of} of {view.key} must be a whole second (snapshot names are)")
    return as_of


def _parse_stamp(text: str) -> pd.Timestamp | None:
    """The instant a snapshot folder's name encodes; None for a name that is not one."""
    try:
        return pd.Timestamp(datetime.strptime(text, _STAMP)).as_unit("ns")
    except ValueError:
        return None


def _meta(view: FeatureView, as_of: pd.Timestamp, rows: int, source_version: str) -> dict[str, Any]:
    return {
        "view": view.name,
        "version": view.version,
        "as_of": as_of.isoformat(),
        "rows": rows,
        "source_version": source_version,
        "materialized_at": datetime.now(UTC).isoformat(),
    }


def _swap_in(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``, moving an older ``target`` aside first and deleting it after."""
    old = target.parent / f".old-{uuid.uuid4().hex}"
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _schema(view: FeatureView) -> pa.Schema:
    fields = [pa.field("user_id", pa.string()), pa.field("event_timestamp", pa.timestamp("ns"))]
    fields += [pa.field(feature.name, _ARROW_TYPES[feature.dtype]) for feature in view.features]
    return pa.schema(fields)


def _to_arrow(view: FeatureView, frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=_schema(view), preserve_index=False)


def _from_arrow(view: FeatureView, table: pa.Table) -> pd.DataFrame:
    """The table as a frame of the view's dtypes; list and string columns as Python objects."""
    table = table.select([*ENTITY_COLUMNS, *view.columns]).cast(_schema(view))
    frame: pd.DataFrame = table.to_pandas(ignore_metadata=True, types_mapper=None)
    objects = ["user_id", *(f.name for f in view.features if f.dtype in ("string", "list[string]"))]
    for name in objects:
        frame[name] = pd.Series(table.column(name).to_pylist(), dtype=object, index=frame.index)
    return frame


def _training_column(column: pd.Series, dtype: str) -> Any:
    """A joined feature column in its training dtype (see ``get_training_frame``)."""
    if dtype in ("string", "list[string]"):
        return column.astype(object).where(column.notna(), None).to_numpy()
    return column.astype(np.float64).to_numpy()


def _empty(view: FeatureView) -> pd.DataFrame:
    return _from_arrow(view, _schema(view).empty_table())


def _entity_keys(entity_df: pd.DataFrame) -> pd.DataFrame:
    """user_id (str), event_timestamp (datetime64[ns]) and the row number, sorted by event time."""
    missing = [name for name in ENTITY_COLUMNS if name not in entity_df.columns]
    if missing:
        raise FeatureStoreError(f"entity_df needs columns user_id and event_timestamp; missing {missing}")
    stamps = pd.to_datetime(entity_df["event_timestamp"])
    if getattr(stamps.dt, "tz", None) is not None:
        raise FeatureStoreError("event_timestamp must be naive IST wall-clock time, like the transactions")
    if stamps.isna().any() or entity_df["user_id"].isna().any():
        raise FeatureStoreError("entity_df has missing user_id or event_timestamp values")
    keys = pd.DataFrame(
        {
            "user_id": entity_df["user_id"].astype(str).astype(object).to_numpy(),
            "event_timestamp": stamps.astype("datetime64[ns]").to_numpy(),
            _ROW: range(len(entity_df)),
        }
    )
    return keys.sort_values("event_timestamp", kind="stable").reset_index(drop=True)


def _distinct(views: Sequence[FeatureView]) -> list[FeatureView]:
    names = [view.name for view in views]
    if len(set(names)) != len(names):
        raise FeatureStoreError(f"each view may be joined once, got {names}")
    return list(views)
