"""Feature jobs: build offline snapshots from the data set, and copy the latest one online.

``build_features`` computes every view as of a few instants (month starts and "latest") and
writes each snapshot to the offline store; a snapshot already built from the same data set
version is skipped, so an interrupted build is simply run again. After ``data advance`` it is
incremental (:mod:`.incremental`): it reads only the rows the new snapshots can see, and keeps
the snapshots of instants before the appended days.

``materialize`` copies each view's latest snapshot into the online store, incrementally: only
entities whose feature row changed since the last materialisation, or that are missing online
(expired, or the store was emptied), are written, in batches, with a progress bar; the others,
known to be unchanged, have their expiry extended in place (``touch``), and the view is marked
refreshed. The online TTL counts from the materialisation, since that is when the row was last
known to be right; the offline point-in-time join counts it from the snapshot's ``as_of``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.data.synthetic import read_manifest
from nivesh_ml.errors import DatasetMissingError
from nivesh_ml.features.builders import build_views
from nivesh_ml.features.definitions import FEATURE_VIEWS, FeatureView
from nivesh_ml.features.incremental import BuildSource, read_full, read_incremental, save_state
from nivesh_ml.features.offline import OfflineStore, default_snapshot_times
from nivesh_ml.features.online import OnlineStore
from nivesh_ml.log import get_logger
from nivesh_ml.progress import item_progress

__all__ = ["MaterializeReport", "build_features", "materialize"]

log = get_logger(__name__)

BATCH_SIZE = 1_000
_STATE_FILE = "_online_state.parquet"


@dataclass(frozen=True)
class MaterializeReport:
    """What one view's materialisation did."""

    view: str
    as_of: pd.Timestamp
    entities: int
    written: int
    unchanged: int
    extended: int = 0  # unchanged rows whose expiry was extended


Plan = list[tuple[pd.Timestamp, list[FeatureView]]]  # per snapshot instant, the views to build


def build_features(
    settings: Settings,
    *,
    snapshots: int = 6,
    views: Sequence[FeatureView] = FEATURE_VIEWS,
    force: bool = False,
    incremental: bool = True,
) -> int:
    """Write offline snapshots of ``views`` for the synthetic data set; returns how many were built.

    When only days were appended since the last build, only the rows the new snapshots can see
    are read and earlier snapshots are kept (each snapshot's ``_meta.json`` says how it was read,
    under ``build``). ``incremental=False`` reads the whole data set and rebuilds every snapshot
    not built from this very version; ``force`` rebuilds every one, from the whole data set.
    """
    data_dir = synthetic_dir(settings)
    manifest = read_manifest(data_dir)
    if manifest is None:
        raise DatasetMissingError(
            f"no synthetic data set under {data_dir}; run `nivesh-ml data generate` first"
        )
    store = OfflineStore(settings.features_dir)
    built = 0
    with item_progress("building feature snapshots", total=None) as advance:
        source, plan = _source_and_plan(
            settings, manifest, store, views, snapshots, incremental=incremental, force=force
        )
        advance(0, total=len(plan) * len(views))
        for as_of, stale in plan:
            frames = build_views(stale, source.sources, as_of) if stale else {}
            for view in stale:
                store.write_snapshot(
                    view, frames[view.name], source_version=source.version, build=source.read
                )
            built += len(stale)
            advance(len(views))
        if plan:
            save_state(settings.features_dir, source, manifest, plan[-1][0])
    log.info(
        "feature snapshots ready",
        extra={"built": built, "snapshots": len(plan) * len(views), **source.read},
    )
    return built


def _source_and_plan(
    settings: Settings,
    manifest: dict[str, Any],
    store: OfflineStore,
    views: Sequence[FeatureView],
    count: int,
    *,
    incremental: bool,
    force: bool,
) -> tuple[BuildSource, Plan]:
    """The rows to read and the snapshots to build from them: incremental when it can serve them all."""
    data_dir = synthetic_dir(settings)
    wanted = incremental and not force
    source = read_incremental(data_dir, manifest, settings.features_dir) if wanted else None
    if source is not None:
        plan = _plan(store, source, views, count, force)
        beyond = [
            f"{view.key} as of {as_of}"
            for as_of, stale in plan
            for view in stale
            if not source.can_build(view, as_of)
        ]
        if not beyond:
            return source, plan
        log.info(
            "feature build reads the whole data set",
            extra={"reason": f"{beyond[0]} reads before {source.since}"},
        )
    source = read_full(data_dir, manifest)
    return source, _plan(store, source, views, count, force)


def _plan(
    store: OfflineStore, source: BuildSource, views: Sequence[FeatureView], count: int, force: bool
) -> Plan:
    """Per snapshot instant of the data, the views whose snapshot there is missing or stale."""
    times = default_snapshot_times(source.sources.transactions, count=count)
    return [
        (
            as_of,
            [
                view
                for view in views
                if force or not source.is_current(store.snapshot_meta(view, as_of), as_of)
            ],
        )
        for as_of in times
    ]


def materialize(
    settings: Settings,
    online: OnlineStore,
    *,
    views: Sequence[FeatureView] = FEATURE_VIEWS,
    full: bool = False,
    batch_size: int = BATCH_SIZE,
    as_of: datetime | None = None,
) -> list[MaterializeReport]:
    """Copy each view's latest offline snapshot into ``online`` (changed or missing entities only).

    Every row is then served until ``as_of`` (default: now) plus the view's TTL: the changed
    ones are written with that event time, the unchanged ones extended, and the view is marked
    refreshed at ``as_of``.
    """
    offline = OfflineStore(settings.features_dir)
    moment = as_of or datetime.now(UTC)
    return [
        _materialize_view(offline, online, view, full=full, batch_size=batch_size, moment=moment)
        for view in views
    ]


def _materialize_view(
    offline: OfflineStore,
    online: OnlineStore,
    view: FeatureView,
    *,
    full: bool,
    batch_size: int,
    moment: datetime,
) -> MaterializeReport:
    frame = offline.read_latest(view)
    as_of = pd.Timestamp(frame["event_timestamp"].iloc[0]) if len(frame) else pd.NaT
    hashes = _row_hashes(frame, view)
    state_path = _state_path(offline, view)
    todo = hashes if full else _changed_or_missing(hashes, _read_state(state_path), online, view)
    indexed = frame.set_index(view.entity)
    rows = indexed.loc[todo.index, view.columns]
    written = _write(online, view, rows, moment, batch_size)
    unchanged = hashes.index.difference(todo.index)
    extended = online.touch(view.key, list(unchanged), ttl=view.ttl, event_time=moment)
    if extended < len(unchanged):  # some expired between the scan and the touch: write them whole
        missing = unchanged.difference(pd.Index(list(online.entity_ids(view.key))))
        written += _write(online, view, indexed.loc[missing, view.columns], moment, batch_size)
    _write_state(state_path, hashes)
    if written + extended >= len(hashes):  # every row is now served until moment + ttl
        online.mark_refreshed(view.key, moment)
    report = MaterializeReport(str(view.key), as_of, len(hashes), written, len(hashes) - len(rows), extended)
    log.info(
        "materialised",
        extra={"view": report.view, "written": written, "unchanged": report.unchanged, "extended": extended},
    )
    return report


def _write(online: OnlineStore, view: FeatureView, rows: pd.DataFrame, moment: datetime, size: int) -> int:
    written = 0
    with item_progress(f"materialising {view.key}", total=len(rows)) as advance:
        for start in range(0, len(rows), size):
            batch = rows.iloc[start : start + size]
            written += online.put_many(view.key, _records(batch), ttl=view.ttl, event_time=moment)
            advance(len(batch))
    return written


def _row_hashes(frame: pd.DataFrame, view: FeatureView) -> pd.Series:
    """One 64-bit hash per entity over its feature values (lists hashed through their text)."""
    values = frame[view.columns].map(lambda v: repr(v) if isinstance(v, list) else v)
    hashed = pd.util.hash_pandas_object(values, index=False)
    return pd.Series(hashed.to_numpy(), index=frame[view.entity].to_numpy(), name="row_hash")


def _changed_or_missing(
    hashes: pd.Series, previous: pd.Series, online: OnlineStore, view: FeatureView
) -> pd.Series:
    known = previous.reindex(hashes.index)
    present = pd.Index(list(online.entity_ids(view.key)))
    keep = (known != hashes) | ~hashes.index.isin(present)
    return hashes[keep]


def _records(batch: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {str(entity): row for entity, row in zip(batch.index, batch.to_dict("records"), strict=True)}


def _state_path(offline: OfflineStore, view: FeatureView) -> Path:
    return offline.root / view.name / f"v{view.version}" / _STATE_FILE


def _read_state(path: Path) -> pd.Series:
    if not path.exists():
        return pd.Series(dtype="uint64", name="row_hash")
    state = pd.read_parquet(path)
    return pd.Series(state["row_hash"].to_numpy(), index=state["entity_id"].to_numpy(), name="row_hash")


def _write_state(path: Path, hashes: pd.Series) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pd.DataFrame({"entity_id": hashes.index, "row_hash": hashes.to_numpy()}).to_parquet(tmp, index=False)
    tmp.replace(path)
