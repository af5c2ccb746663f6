"""Small offline snapshots of the feature views, written straight to the offline store.

Enough for materialisation and refresh tests (every feature present, with its declared dtype)
without generating a data set and building features from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.features.definitions import FEATURE_VIEWS, PANDAS_DTYPES, FeatureView
from nivesh_ml.features.offline import OfflineStore

_VALUES: dict[str, Any] = {"int64": 1, "float64": 1.0, "bool": False, "string": "x", "list[string]": ["m"]}


def snapshot_frame(
    view: FeatureView, users: Iterable[str], as_of: datetime, overrides: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """A frame of ``view`` as of ``as_of``: the same row for every user, but ``overrides`` (user ->
    value of every float feature)."""
    users = list(users)
    frame = pd.DataFrame({"user_id": pd.Series(users, dtype=object)})
    frame["event_timestamp"] = pd.Timestamp(as_of).tz_convert(None).as_unit("ns")
    for feature in view.features:
        value = _VALUES[feature.dtype]
        column = [value if not isinstance(value, list) else list(value) for _ in users]
        if feature.dtype == "float64" and overrides:
            column = [float(overrides.get(user, value)) for user in users]
        frame[feature.name] = pd.Series(column, dtype=PANDAS_DTYPES[feature.dtype])
    return frame


def write_snapshots(
    settings: Settings,
    users: Iterable[str],
    as_of: datetime,
    overrides: Mapping[str, float] | None = None,
    views: Sequence[FeatureView] = FEATURE_VIEWS,
) -> None:
    """Write one snapshot of each of ``views`` as of ``as_of`` under ``settings.features_dir``."""
    store = OfflineStore(settings.features_dir)
    for view in views:
        store.write_snapshot(view, snapshot_frame(view, users, as_of, overrides), source_version="test")
