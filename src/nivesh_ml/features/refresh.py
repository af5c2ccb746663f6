"""Keeping every online view inside its TTL, and how old each view is.

A view's *age* is the time since all of its rows were last known right: since the
materialisation or refresh that wrote or extended every one of them, recorded in the online
store itself (``mark_refreshed``), so every process that reads the store sees the same age, on
SQLite and on Redis alike. Each row of a view of age ``a`` is served for at least ``ttl - a``
more; a view whose age reaches its TTL has *expired*: its rows read as missing.

:func:`refresh` rebuilds nothing: it materialises what changed in each view's latest offline
snapshot and extends every other row's expiry to ``as_of + ttl``, so no view expires while
refreshes run more often than its TTL (daily: ``transaction_stats`` lives two days). It runs
from ``nivesh-ml features refresh``, the ``nivesh_features_refresh`` Airflow DAG and, on the
embedded store, inside ``nivesh-ml serve`` (``NIVESH_FEATURE_REFRESH_INTERVAL_S``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.features.definitions import FEATURE_VIEWS, FeatureView
from nivesh_ml.features.online import OnlineStore
from nivesh_ml.log import get_logger

__all__ = ["RefreshReport", "expired_views", "refresh", "view_ages"]

log = get_logger(__name__)


@dataclass(frozen=True)
class RefreshReport:
    """What one view's refresh did; ages in seconds as of the refresh (None: never recorded)."""

    view: str
    snapshot_as_of: pd.Timestamp
    written: int  # changed or missing rows copied from the snapshot
    extended: int  # unchanged rows whose expiry moved to as_of + ttl
    ttl_s: float
    age_before_s: float | None
    age_after_s: float | None

    @property
    def expired_before(self) -> bool:
        """Whether the view had expired when the refresh began (False when its age was unknown)."""
        return self.age_before_s is not None and self.age_before_s >= self.ttl_s


def refresh(
    settings: Settings,
    online: OnlineStore,
    *,
    as_of: datetime,
    views: Sequence[FeatureView] = FEATURE_VIEWS,
) -> list[RefreshReport]:
    """Keep ``views`` fresh as of ``as_of``: copy changed rows, extend the others' expiry; one report each."""
    # imported here: the model server reads views' ages without loading the builders and generator
    from nivesh_ml.features.materialize import materialize

    before = view_ages(online, as_of=as_of, views=views)
    done = materialize(settings, online, views=views, as_of=as_of)
    after = view_ages(online, as_of=as_of, views=views)
    reports = [
        RefreshReport(
            view=str(view.key),
            snapshot_as_of=report.as_of,
            written=report.written,
            extended=report.extended,
            ttl_s=view.ttl.total_seconds(),
            age_before_s=before[str(view.key)],
            age_after_s=after[str(view.key)],
        )
        for view, report in zip(views, done, strict=True)
    ]
    for report in reports:
        log.info(
            "feature view refreshed",
            extra={
                "view": report.view,
                "written": report.written,
                "extended": report.extended,
                "age_before_s": report.age_before_s,
            },
        )
    return reports


def view_ages(
    online: OnlineStore, *, as_of: datetime, views: Sequence[FeatureView] = FEATURE_VIEWS
) -> dict[str, float | None]:
    """Seconds from each view's last materialisation or refresh to ``as_of`` (None: never recorded)."""
    ages: dict[str, float | None] = {}
    for view in views:
        refreshed = online.refreshed_at(view.key)
        ages[str(view.key)] = None if refreshed is None else (as_of - refreshed).total_seconds()
    return ages


def expired_views(
    ages: Mapping[str, float | None], views: Sequence[FeatureView] = FEATURE_VIEWS
) -> list[str]:
    """The views of ``ages`` whose age has reached their TTL (a view of unknown age is not listed)."""
    return [
        str(view.key)
        for view in views
        if (age := ages.get(str(view.key))) is not None and age >= view.ttl.total_seconds()
    ]
