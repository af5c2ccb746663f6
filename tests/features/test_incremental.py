"""Incremental feature builds: the same snapshots as a full rebuild after `data advance`, reading less."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import advance_synthetic, synthetic_dir
from nivesh_ml.data.synthetic import GeneratorConfig, SyntheticData, generate, read_dataset, write_dataset
from nivesh_ml.data.synthetic.partitions import unify_categories
from nivesh_ml.features import incremental
from nivesh_ml.features.builders import SourceFrames, build_views, earliest_read
from nivesh_ml.features.builders._common import DEPOSIT_TYPES
from nivesh_ml.features.definitions import FEATURE_VIEWS, FeatureView, get_view
from nivesh_ml.features.incremental import carried_rows
from nivesh_ml.features.materialize import build_features
from nivesh_ml.features.offline import OfflineStore, default_snapshot_times

# 18 months, so the year the views look back leaves half a year of history unread; the history
# ends on 30 October, so the days advanced below cross into a new month (a new month-start snapshot)
CONFIG = GeneratorConfig(users=40, months=18, seed=11, end_date=dt.date(2026, 10, 30))
SNAPSHOTS = 2
PROFILE = get_view("user_financial_profile")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated data set, never advanced: each test copies it."""
    folder = tmp_path_factory.mktemp("incremental") / "synthetic"
    write_dataset(generate(CONFIG), folder)
    return folder


@pytest.fixture
def home(make_settings: Callable[..., Settings], history: Path) -> Settings:
    """Settings whose data set is a fresh copy of ``history``."""
    settings = make_settings()
    shutil.copytree(history, synthetic_dir(settings))
    return settings


def _latest_build(settings: Settings, view: FeatureView) -> dict[str, Any]:
    store = OfflineStore(settings.features_dir)
    meta = store.snapshot_meta(view, store.snapshots(view)[-1])
    assert meta is not None
    build: dict[str, Any] = meta["build"]
    return build


def test_incremental_builds_equal_a_full_rebuild(
    home: Settings, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    assert build_features(home, snapshots=SNAPSHOTS) == 3 * len(FEATURE_VIEWS)  # the first is full
    advance_synthetic(home, 1)  # 31 October
    assert build_features(home, snapshots=SNAPSHOTS) == len(FEATURE_VIEWS)  # "latest" only
    advance_synthetic(home, 2, scenario="new-merchants")  # 1-2 November: unseen merchants
    assert build_features(home, snapshots=SNAPSHOTS) == 2 * len(FEATURE_VIEWS)  # 1 November, latest

    full = make_settings(home=tmp_path / "full")
    shutil.copytree(synthetic_dir(home), synthetic_dir(full))
    build_features(full, snapshots=SNAPSHOTS, incremental=False)

    ours, theirs = OfflineStore(home.features_dir), OfflineStore(full.features_dir)
    for view in FEATURE_VIEWS:
        stamps = theirs.snapshots(view)
        assert stamps[-2] == pd.Timestamp("2026-11-01")
        assert set(stamps) <= set(ours.snapshots(view))
        for as_of in stamps:
            pd.testing.assert_frame_equal(
                ours.read_snapshot(view, as_of), theirs.read_snapshot(view, as_of), check_exact=True
            )
        assert _latest_build(home, view)["mode"] == "incremental"
        assert _latest_build(full, view)["mode"] == "full"


def test_an_incremental_build_reads_only_the_lookback(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_features(home, snapshots=SNAPSHOTS)
    store = OfflineStore(home.features_dir)
    before = {view.name: store.snapshots(view) for view in FEATURE_VIEWS}
    data = read_dataset(synthetic_dir(home))
    history = data.transactions
    advance_synthetic(home, 1)

    def whole_data_set(*_: object) -> SyntheticData:
        raise AssertionError("the incremental build read the whole data set")

    monkeypatch.setattr(incremental, "read_dataset", whole_data_set)
    assert build_features(home, snapshots=SNAPSHOTS) == len(FEATURE_VIEWS)

    since = earliest_read(before[PROFILE.name][-1])
    read = _latest_build(home, PROFILE)
    assert read["mode"] == "incremental"
    assert pd.Timestamp(read["read_from"]) == since > history["timestamp"].min() + pd.Timedelta(days=120)
    assert read["history_rows_read"] == int((history["timestamp"] >= since).sum()) < 0.75 * len(history)
    assert read["days_read"] == 1
    assert 0 < read["carried_rows"] <= len(data.users) + len(data.accounts)  # a row per user or account
    for view in FEATURE_VIEWS:  # earlier snapshots kept, one new "latest"
        assert store.snapshots(view)[:-1] == before[view.name]


def test_a_changed_history_full_or_force_reads_the_whole_data_set(
    home: Settings, make_settings: Callable[..., Settings]
) -> None:
    build_features(home, snapshots=SNAPSHOTS)
    advance_synthetic(home, 1)
    build_features(home, snapshots=SNAPSHOTS, incremental=False)
    assert _latest_build(home, PROFILE) == {
        "mode": "full",
        "read_from": None,
        "rows_read": len(read_dataset(synthetic_dir(home)).transactions),
    }
    build_features(home, snapshots=SNAPSHOTS, force=True)
    assert _latest_build(home, PROFILE)["mode"] == "full"

    other = GeneratorConfig(users=40, months=18, seed=12, end_date=CONFIG.end_date)
    write_dataset(generate(other), synthetic_dir(home))  # a new history, no advanced days
    assert build_features(home, snapshots=SNAPSHOTS) == 3 * len(FEATURE_VIEWS)
    assert _latest_build(home, PROFILE)["mode"] == "full"


def test_carried_rows_stand_in_for_the_history_before_the_lookback(history: Path) -> None:
    data = read_dataset(history)
    tx = data.transactions.copy()
    as_of = default_snapshot_times(tx, count=0)[-1]
    since = earliest_read(as_of)
    # a deposit account dormant and overdrawn since long before the lookback...
    deposits = data.accounts.loc[data.accounts["account_type"].isin(DEPOSIT_TYPES), "account_id"]
    dormant = str(deposits.iloc[0])
    gone = (tx["account_id"] == dormant) & (tx["timestamp"] >= since - pd.Timedelta(days=40))
    tx = tx[~gone]
    tx.loc[tx.index[tx["account_id"] == dormant][-1], "balance_after"] = -500.0
    # ...and a user silent since before it
    silent = str(data.users["user_id"].iloc[1])
    tx = tx[~((tx["user_id"] == silent) & (tx["timestamp"] >= since - pd.Timedelta(days=10)))]
    tx = tx.reset_index(drop=True)

    def views_from(transactions: pd.DataFrame) -> dict[str, pd.DataFrame]:
        return build_views(FEATURE_VIEWS, SourceFrames(data.users, data.accounts, transactions), as_of)

    recent = tx[tx["timestamp"] >= since]
    full = views_from(tx)
    trimmed = views_from(pd.concat(unify_categories([carried_rows(tx, since), recent]), ignore_index=True))
    for view in FEATURE_VIEWS:
        pd.testing.assert_frame_equal(trimmed[view.name], full[view.name], check_exact=True)

    bare = views_from(recent.reset_index(drop=True))["user_financial_profile"].set_index("user_id")
    profile = full["user_financial_profile"].set_index("user_id")
    owner = str(data.accounts.loc[data.accounts["account_id"] == dormant, "user_id"].iloc[0])
    assert profile.loc[owner, "overdraft_days_12m"] >= 365 > bare.loc[owner, "overdraft_days_12m"]
    assert profile.loc[silent, "history_months"] == 6 > bare.loc[silent, "history_months"]
