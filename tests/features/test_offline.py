"""The offline store: Parquet snapshots, metadata, atomic writes, point-in-time training joins."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.data.synthetic import GeneratorConfig, generate
from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features import offline
from nivesh_ml.features.builders import SourceFrames, build_view
from nivesh_ml.features.definitions import FEATURE_VIEWS, Feature, FeatureView
from nivesh_ml.features.offline import OfflineStore, default_snapshot_times

AS_OF = pd.Timestamp("2026-09-01")

# A small view for the join tests: one feature of each kind, a 10-day TTL.
MINI = FeatureView(
    name="mini",
    version=1,
    ttl=timedelta(days=10),
    description="test view",
    features=(
        Feature("n", "int64", "a count"),
        Feature("x", "float64", "a value"),
        Feature("flag", "bool", "a flag"),
        Feature("tags", "list[string]", "some names"),
    ),
)


def _mini(as_of: str, n: int) -> pd.DataFrame:
    """A MINI snapshot as of ``as_of``: U1 and U2, n = ``n`` and ``n + 1``."""
    return pd.DataFrame(
        {
            "user_id": pd.Series(["U1", "U2"], dtype=object),
            "event_timestamp": pd.Series([pd.Timestamp(as_of)] * 2, dtype="datetime64[ns]"),
            "n": pd.Series([n, n + 1], dtype="int64"),
            "x": [n / 10, np.nan],
            "flag": [True, False],
            "tags": pd.Series([[f"t{n}"], []], dtype=object),
        }
    )


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """Every real view built from 200 users x 3 months."""
    sources = SourceFrames.from_synthetic(generate(GeneratorConfig(users=200, months=3, seed=3)))
    return {view.name: build_view(view, sources, AS_OF) for view in FEATURE_VIEWS}


@pytest.fixture
def store(tmp_path: Path) -> OfflineStore:
    return OfflineStore(tmp_path / "features")


# --- snapshots ----------------------------------------------------------------------------------


def test_nothing_is_created_until_a_write(tmp_path: Path) -> None:
    store = OfflineStore(tmp_path / "features")
    assert store.snapshots(MINI) == []
    assert not (tmp_path / "features").exists()


@pytest.mark.parametrize("view", FEATURE_VIEWS, ids=lambda view: view.name)
def test_round_trip_keeps_values_and_dtypes(
    view: FeatureView, frames: dict[str, pd.DataFrame], store
) -> None:
    path = store.write_snapshot(view, frames[view.name], source_version="abc123")
    assert path == store.root / view.name / "v1" / "as_of=20260901T000000"
    assert (path / "data.parquet").is_file()
    pd.testing.assert_frame_equal(store.read_snapshot(view, AS_OF), frames[view.name])
    pd.testing.assert_frame_equal(store.read_latest(view), frames[view.name])


def test_lists_come_back_as_lists(store: OfflineStore) -> None:
    store.write_snapshot(MINI, _mini("2026-01-01", 1), source_version="v")
    back = store.read_snapshot(MINI, pd.Timestamp("2026-01-01"))
    assert back["tags"].tolist() == [["t1"], []]
    assert [type(value) for value in back["tags"]] == [list, list]
    assert back.dtypes.astype(str).tolist() == [
        "object",
        "datetime64[ns]",
        "int64",
        "float64",
        "bool",
        "object",
    ]


def test_meta_records_source_and_time(store: OfflineStore) -> None:
    before = datetime.now(UTC)
    store.write_snapshot(MINI, _mini("2026-01-01", 1), source_version="data-7f3a")
    meta = store.snapshot_meta(MINI, pd.Timestamp("2026-01-01"))
    assert meta is not None
    assert {k: meta[k] for k in ("view", "version", "as_of", "rows", "source_version")} == {
        "view": "mini",
        "version": 1,
        "as_of": "2026-01-01T00:00:00",
        "rows": 2,
        "source_version": "data-7f3a",
    }
    materialized = datetime.fromisoformat(meta["materialized_at"])
    assert materialized.tzinfo is not None
    assert before <= materialized <= datetime.now(UTC)
    assert store.snapshot_meta(MINI, pd.Timestamp("2025-01-01")) is None


def test_snapshots_are_sorted_and_latest_is_newest(store: OfflineStore) -> None:
    for as_of, n in (("2026-03-01", 3), ("2026-01-01", 1), ("2026-02-01 12:30:05", 2)):
        store.write_snapshot(MINI, _mini(as_of, n), source_version="v")
    assert store.snapshots(MINI) == [
        pd.Timestamp("2026-01-01"),
        pd.Timestamp("2026-02-01 12:30:05"),
        pd.Timestamp("2026-03-01"),
    ]
    assert store.read_latest(MINI)["n"].tolist() == [3, 4]


def test_rewriting_a_snapshot_replaces_it(store: OfflineStore) -> None:
    store.write_snapshot(MINI, _mini("2026-01-01", 1), source_version="old")
    store.write_snapshot(MINI, _mini("2026-01-01", 5), source_version="new")
    assert store.read_latest(MINI)["n"].tolist() == [5, 6]
    assert [p.name for p in (store.root / "mini" / "v1").iterdir()] == ["as_of=20260101T000000"]


@pytest.mark.parametrize(("module", "name"), [(offline.pq, "write_table"), (offline, "_meta")])
def test_a_failed_write_leaves_no_snapshot(store: OfflineStore, monkeypatch, module, name: str) -> None:
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(module, name, boom)  # the data file, or the metadata after it
    with pytest.raises(OSError, match="disk full"):
        store.write_snapshot(MINI, _mini("2026-01-01", 1), source_version="v")
    assert store.snapshots(MINI) == []
    assert list((store.root / "mini" / "v1").iterdir()) == []  # no temporary folder left either


def test_read_latest_of_an_empty_store_says_what_to_run(store: OfflineStore) -> None:
    with pytest.raises(FeatureStoreError, match=r"run `nivesh-ml features build`"):
        store.read_latest(MINI)
    with pytest.raises(FeatureStoreError, match="no snapshot of mini:v1"):
        store.read_snapshot(MINI, pd.Timestamp("2026-01-01"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["x"]), "missing \\['x'\\]"),
        (lambda f: f.assign(extra=1), "unexpected \\['extra'\\]"),
        (lambda f: f.assign(n=f["n"].astype(float)), "n: float64"),
        (lambda f: f.assign(tags=["a", "b"]), "tags"),
        (lambda f: f.assign(event_timestamp=pd.to_datetime(["2026-01-01", "2026-01-02"])), "exactly one"),
        (
            lambda f: f.assign(event_timestamp=pd.Timestamp("2026-01-01 00:00:00.5").as_unit("ns")),
            "whole second",
        ),
    ],
)
def test_a_frame_off_the_schema_is_refused(store: OfflineStore, change, message: str) -> None:
    with pytest.raises(FeatureStoreError, match=message):
        store.write_snapshot(MINI, change(_mini("2026-01-01", 1)), source_version="v")
    assert store.snapshots(MINI) == []


# --- point-in-time joins ------------------------------------------------------------------------


@pytest.fixture
def two_snapshots(store: OfflineStore) -> OfflineStore:
    store.write_snapshot(MINI, _mini("2026-01-01", 1), source_version="v")
    store.write_snapshot(MINI, _mini("2026-01-08", 2), source_version="v")
    return store


def test_each_event_gets_the_latest_snapshot_at_or_before_it(two_snapshots: OfflineStore) -> None:
    events = pd.DataFrame(
        {
            "user_id": ["U1", "U1", "U1", "U2", "U1", "U1", "U9"],
            "event_timestamp": pd.to_datetime(
                [
                    "2026-01-05",  # between the two: the Jan 1 snapshot
                    "2026-01-08",  # exactly at the second: it (built from data before Jan 8)
                    "2025-12-31",  # before both: nothing
                    "2026-01-17",  # 9 days after Jan 8: within the TTL
                    "2026-01-19",  # 11 days after Jan 8: beyond the 10-day TTL
                    "2026-01-07 23:59:59",
                    "2026-01-05",  # a user in no snapshot
                ],
                format="ISO8601",
            ),
            "label": [1, 0, 1, 0, 1, 0, 1],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    frame = two_snapshots.get_training_frame(events, [MINI])
    assert list(frame.columns) == [
        "user_id",
        "event_timestamp",
        "label",
        "mini__n",
        "mini__x",
        "mini__flag",
        "mini__tags",
    ]
    assert list(frame.index) == [10, 11, 12, 13, 14, 15, 16]
    pd.testing.assert_frame_equal(frame[["user_id", "event_timestamp", "label"]], events)
    assert frame["mini__n"].tolist()[:2] == [1, 2]
    assert np.isnan(frame["mini__n"].iloc[2])
    assert frame["mini__n"].iloc[3] == 3  # U2 in the Jan 8 snapshot
    assert np.isnan(frame["mini__n"].iloc[4])
    assert frame["mini__n"].iloc[5] == 1
    assert np.isnan(frame["mini__n"].iloc[6])
    assert frame["mini__tags"].iloc[0] == ["t1"]
    assert frame["mini__tags"].iloc[1] == ["t2"]
    assert frame["mini__tags"].iloc[2] is None
    assert frame["mini__flag"].tolist()[:2] == [1.0, 1.0]
    assert np.isnan(frame["mini__flag"].iloc[2])
    # a column's dtype does not depend on whether a row missed
    assert frame[["mini__n", "mini__x", "mini__flag"]].dtypes.astype(str).tolist() == ["float64"] * 3
    all_found = two_snapshots.get_training_frame(events.head(2), [MINI])
    assert all_found[["mini__n", "mini__flag"]].dtypes.astype(str).tolist() == ["float64"] * 2


def test_events_join_several_views(frames: dict[str, pd.DataFrame], store: OfflineStore) -> None:
    for view in FEATURE_VIEWS:
        store.write_snapshot(view, frames[view.name], source_version="v")
    users = frames["spending_patterns"]["user_id"].head(5)
    events = pd.DataFrame({"user_id": users, "event_timestamp": AS_OF + pd.Timedelta(days=1)})
    frame = store.get_training_frame(events, FEATURE_VIEWS)
    assert len(frame.columns) == 2 + sum(len(view.columns) for view in FEATURE_VIEWS)
    expected = frames["spending_patterns"].set_index("user_id").loc[list(users), "spend_groceries_30d"]
    assert frame["spending_patterns__spend_groceries_30d"].tolist() == expected.tolist()
    # transaction_stats lives 2 days: a day later is fresh, three days later is not
    late = store.get_training_frame(
        events.assign(event_timestamp=AS_OF + pd.Timedelta(days=3)), FEATURE_VIEWS
    )
    assert late["transaction_stats__debit_count_7d"].isna().all()
    assert late["spending_patterns__spend_groceries_30d"].notna().all()


def test_a_view_without_snapshots_joins_as_missing(store: OfflineStore) -> None:
    events = pd.DataFrame({"user_id": ["U1"], "event_timestamp": [pd.Timestamp("2026-01-05")]})
    frame = store.get_training_frame(events, [MINI])
    assert frame[["mini__n", "mini__x"]].isna().all().all()


def test_bad_entity_frames_are_refused(two_snapshots: OfflineStore) -> None:
    with pytest.raises(FeatureStoreError, match="event_timestamp"):
        two_snapshots.get_training_frame(pd.DataFrame({"user_id": ["U1"]}), [MINI])
    events = pd.DataFrame({"user_id": ["U1"], "event_timestamp": [pd.Timestamp("2026-01-05")]})
    with pytest.raises(FeatureStoreError, match="once"):
        two_snapshots.get_training_frame(events, [MINI, MINI])


# --- snapshot times -----------------------------------------------------------------------------


def test_default_snapshot_times() -> None:
    transactions = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                ["2026-05-01 00:07:54", "2026-08-10 12:00:00", "2026-10-31 23:59:12.5"], format="ISO8601"
            )
        }
    )
    times = default_snapshot_times(transactions, count=3)
    assert times == [
        pd.Timestamp("2026-08-01"),
        pd.Timestamp("2026-09-01"),
        pd.Timestamp("2026-10-01"),
        pd.Timestamp("2026-10-31 23:59:13"),
    ]
    # the month start before the first transaction is left out
    assert default_snapshot_times(transactions, count=6)[0] == pd.Timestamp("2026-06-01")
    assert default_snapshot_times(transactions.head(0)) == []


def test_meta_file_is_json(store: OfflineStore) -> None:
    path = store.write_snapshot(MINI, _mini("2026-01-01", 1), source_version="v")
    assert json.loads((path / "_meta.json").read_text())["rows"] == 2
