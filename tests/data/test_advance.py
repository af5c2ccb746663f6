"""`data advance`: days appended after the history, deterministic, continuous, and every scenario visible."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nivesh_ml import cli
from nivesh_ml.config import Settings
from nivesh_ml.data import schemas
from nivesh_ml.data.nivesh import ensure_synthetic, synthetic_dir
from nivesh_ml.data.scenarios import SCENARIO_DESCRIPTIONS
from nivesh_ml.data.synthetic import (
    ANOMALY_RATE,
    GeneratorConfig,
    generate,
    read_dataset,
    read_manifest,
    write_dataset,
)
from nivesh_ml.data.synthetic.advance import advance_dataset
from nivesh_ml.data.synthetic.merchants import vocabulary
from nivesh_ml.data.synthetic.partitions import partition_meta, partition_path
from nivesh_ml.data.synthetic.scenarios import SCENARIOS
from nivesh_ml.errors import ConfigError

CONFIG = GeneratorConfig(users=200, months=2, seed=7)
FIRST = CONFIG.end_date + dt.timedelta(days=1)
WEEK = [FIRST + dt.timedelta(days=i) for i in range(7)]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("advance") / "synthetic"
    write_dataset(generate(CONFIG), folder)
    return folder


@pytest.fixture
def copy(base: Path, tmp_path: Path) -> Callable[[str], Path]:
    """A fresh copy of the base data set, named ``name``."""

    def make(name: str) -> Path:
        return Path(shutil.copytree(base, tmp_path / name))

    return make


@pytest.fixture(scope="module")
def scenario_runs(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str | None, Path]:
    """The week advanced quietly and under each scenario, from the same history and seed."""
    runs: dict[str | None, Path] = {}
    for name in [None, *SCENARIOS]:
        folder = Path(shutil.copytree(base, tmp_path_factory.mktemp("runs") / (name or "quiet")))
        advance_dataset(folder, 7, scenario=name)
        runs[name] = folder
    return runs


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
    }


def _days(folder: Path, days: list[dt.date]) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(partition_path(folder, day)) for day in days], ignore_index=True)


def test_history_is_untouched_and_days_follow_it_without_gap(copy: Callable[[str], Path]) -> None:
    folder = copy("a")
    before = _digests(folder)
    manifest = advance_dataset(folder, 7)
    after = _digests(folder)
    assert {name: after[name] for name in before} == before
    tx = read_dataset(folder).transactions
    dates = sorted(tx["timestamp"].dt.date.unique())
    assert dates[-7:] == WEEK
    assert dates == [dates[0] + dt.timedelta(days=i) for i in range(len(dates))]  # no gap, no overlap
    for day in WEEK:
        stamps = pd.read_parquet(partition_path(folder, day), columns=["timestamp"])["timestamp"]
        assert (stamps.dt.date == day).all()
    assert tx["txn_id"].is_unique
    assert [d["day"] for d in manifest["advanced"]["days"]] == [d.isoformat() for d in WEEK]


def test_the_version_changes_and_the_config_stays(base: Path, copy: Callable[[str], Path]) -> None:
    folder = copy("a")
    original = read_manifest(base)
    assert original is not None
    manifest = advance_dataset(folder, 2)
    assert manifest["version"] != original["version"]
    assert manifest["config"] == original["config"]  # `data generate` with the same config keeps the days
    assert read_manifest(folder) == manifest
    assert (
        manifest["advanced"]["rows"]
        == len(read_dataset(folder).transactions) - original["rows"]["transactions"]
    )


def test_same_seed_and_days_write_identical_bytes_however_advanced(copy: Callable[[str], Path]) -> None:
    once, again, in_steps = copy("once"), copy("again"), copy("steps")
    advance_dataset(once, 7)
    advance_dataset(again, 7)
    advance_dataset(in_steps, 3)
    advance_dataset(in_steps, 4)
    assert _digests(once) == _digests(again) == _digests(in_steps)
    assert read_manifest(once) == read_manifest(in_steps)


def test_a_different_seed_gives_different_days(copy: Callable[[str], Path]) -> None:
    first, other = copy("a"), copy("b")
    assert advance_dataset(first, 1)["version"] != advance_dataset(other, 1, seed=99)["version"]
    assert partition_meta(partition_path(other, FIRST))["seed"] == 99


def test_an_interrupted_advance_keeps_its_days_and_the_rerun_continues(copy: Callable[[str], Path]) -> None:
    whole, interrupted = copy("whole"), copy("interrupted")
    advance_dataset(whole, 7)

    def stop_after_two(day: dt.date) -> None:
        if day == WEEK[1]:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        advance_dataset(interrupted, 7, on_day=stop_after_two)
    manifest = read_manifest(interrupted)
    assert manifest is not None
    assert manifest["advanced"]["last_day"] == WEEK[1].isoformat()
    advance_dataset(interrupted, 5)
    assert _digests(interrupted) == _digests(whole)


def test_the_loader_sees_one_table_in_user_then_time_order(scenario_runs: dict[str | None, Path]) -> None:
    tx = read_dataset(scenario_runs[None]).transactions
    schemas.validate(tx, schemas.TRANSACTIONS)
    users = tx["user_id"].astype(str).to_numpy()
    assert (users[1:] >= users[:-1]).all()
    same_user = users[1:] == users[:-1]
    stamps = tx["timestamp"].to_numpy()
    assert (stamps[1:][same_user] >= stamps[:-1][same_user]).all()


def test_balances_run_on_across_the_boundary(scenario_runs: dict[str | None, Path]) -> None:
    tx = read_dataset(scenario_runs[None]).transactions
    deposit = tx[tx["balance_after"].notna()].sort_values(["account_id", "timestamp"], kind="stable")
    signed = np.where(deposit["direction"] == "credit", deposit["amount"], -deposit["amount"])
    previous = deposit.groupby("account_id", observed=True)["balance_after"].shift()
    step = (deposit["balance_after"] - previous - signed).abs()
    assert (step.dropna() < 0.011).all()


def test_the_advanced_week_looks_like_the_last_weeks(scenario_runs: dict[str | None, Path]) -> None:
    tx = read_dataset(scenario_runs[None]).transactions
    day = tx["timestamp"].dt.normalize()
    recent = tx[
        (day > pd.Timestamp(CONFIG.end_date) - pd.Timedelta(days=28)) & (day <= pd.Timestamp(CONFIG.end_date))
    ]
    advanced = tx[day > pd.Timestamp(CONFIG.end_date)]
    assert len(advanced) / 7 == pytest.approx(len(recent) / 28, rel=0.25)
    history = tx[day <= pd.Timestamp(CONFIG.end_date)]
    salaried = set(history.loc[history["category"] == "salary", "user_id"])
    assert set(advanced.loc[advanced["category"] == "salary", "user_id"]) <= salaried


def test_income_shock_stops_the_salary_of_the_affected_users(scenario_runs: dict[str | None, Path]) -> None:
    folder = scenario_runs["income-shock"]
    meta = [partition_meta(partition_path(folder, day)) for day in WEEK]
    assert {m["scenario"] for m in meta} == {"income-shock"}
    assert {m["scenario_start"] for m in meta} == {FIRST.isoformat()}
    affected = set(meta[0]["effect"]["users"])
    assert all(set(m["effect"]["users"]) == affected for m in meta)
    quiet, shocked = _days(scenario_runs[None], WEEK), _days(folder, WEEK)
    paid = set(quiet.loc[quiet["category"] == "salary", "user_id"])
    assert affected & paid  # some of them were due a salary this week
    assert not affected & set(shocked.loc[shocked["category"] == "salary", "user_id"])
    assert sum(m["effect"]["salary_credits_stopped"] for m in meta) > 0


def test_inflation_raises_the_mean_amount_of_every_priced_category(
    scenario_runs: dict[str | None, Path],
) -> None:
    folder = scenario_runs["inflation"]
    last = partition_meta(partition_path(folder, WEEK[-1]))
    assert last["scenario_start"] == FIRST.isoformat()
    factors = last["effect"]["price_factor"]
    assert all(f > 1.03 for f in factors.values())  # about 1% a day for 7 days
    quiet, inflated = _days(scenario_runs[None], WEEK), _days(folder, WEEK)
    mean = {
        name: frame.groupby("category", observed=True)["amount"].mean()
        for name, frame in [("q", quiet), ("i", inflated)]
    }
    for category in factors:
        if category in mean["q"].index:
            assert mean["i"][category] > mean["q"][category], category
    assert mean["i"]["salary"] == mean["q"]["salary"]  # incomes do not follow prices


def test_new_merchants_bring_unseen_names_and_a_new_category(scenario_runs: dict[str | None, Path]) -> None:
    folder = scenario_runs["new-merchants"]
    tx = read_dataset(folder).transactions
    advanced = tx[tx["timestamp"].dt.date >= FIRST]
    unseen = set(advanced["merchant"].astype(str)) - set(vocabulary())
    assert unseen
    assert unseen <= set(partition_meta(partition_path(folder, FIRST))["effect"]["merchants"])
    assert (advanced["category"] == "quick_commerce").sum() > 0
    assert "quick_commerce" not in set(tx.loc[tx["timestamp"].dt.date < FIRST, "category"].astype(str))
    effect = partition_meta(partition_path(folder, FIRST))["effect"]
    assert effect["new_category"] == "quick_commerce"
    assert effect["rows_moved"] > 0


def test_a_fraud_wave_multiplies_anomalies_with_a_new_pattern(
    scenario_runs: dict[str | None, Path], tmp_path: Path
) -> None:
    # anomalies are rare: a thousand users for a week, so the rate is not noise
    crowd = tmp_path / "crowd"
    write_dataset(generate(GeneratorConfig(users=1000, months=1, seed=7)), crowd)
    quiet_folder = Path(shutil.copytree(crowd, tmp_path / "quiet"))
    advance_dataset(quiet_folder, 7)
    advance_dataset(crowd, 7, scenario="fraud-wave")
    quiet, wave = _days(quiet_folder, WEEK), _days(crowd, WEEK)
    assert quiet["is_anomaly"].mean() == pytest.approx(ANOMALY_RATE, rel=0.5)
    assert wave["is_anomaly"].mean() > 3 * quiet["is_anomaly"].mean()
    testing = wave[wave["anomaly_type"] == "card_testing"]
    assert len(testing) > 0
    assert testing["is_anomaly"].all()
    assert (testing["timestamp"].dt.hour < 5).all()
    assert (testing["amount"] < 100).all()
    assert not set(testing["merchant"].astype(str)) & set(vocabulary())
    meta = partition_meta(partition_path(scenario_runs["fraud-wave"], FIRST))
    assert meta["effect"]["rate_multiplier"] == 5.0
    assert meta["effect"]["new_patterns"] == ["card_testing"]


def test_a_scenario_keeps_its_start_across_calls_and_a_quiet_day_ends_it(copy: Callable[[str], Path]) -> None:
    folder = copy("a")
    advance_dataset(folder, 2, scenario="inflation")
    advance_dataset(folder, 2, scenario="inflation")
    advance_dataset(folder, 1)
    advance_dataset(folder, 1, scenario="inflation")
    starts = [partition_meta(partition_path(folder, day))["scenario_start"] for day in WEEK[:6]]
    assert starts == [FIRST.isoformat()] * 4 + [None, WEEK[5].isoformat()]


def test_an_unknown_scenario_or_no_day_is_refused(copy: Callable[[str], Path]) -> None:
    folder = copy("a")
    with pytest.raises(ConfigError, match="income-shock, inflation, new-merchants, fraud-wave"):
        advance_dataset(folder, 1, scenario="meteor")
    with pytest.raises(ConfigError, match="days"):
        advance_dataset(folder, 0)
    assert read_manifest(folder) == read_manifest(folder.parent / "a")


def test_every_scenario_has_its_one_line_description() -> None:
    assert set(SCENARIOS) == set(SCENARIO_DESCRIPTIONS)
    assert all(
        s.description == SCENARIO_DESCRIPTIONS[s.name] and "\n" not in s.description
        for s in SCENARIOS.values()
    )


def test_cli_advances_the_home_data_set(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_synthetic(settings, GeneratorConfig(users=30, months=2, seed=3))
    monkeypatch.setenv("NIVESH_HOME", str(settings.home))
    result = CliRunner().invoke(cli.app, ["data", "advance", "--days", "2", "--scenario", "fraud-wave"])
    assert result.exit_code == 0, result.output
    assert "2026-11-01..2026-11-02 advanced" in result.output
    meta = partition_meta(partition_path(synthetic_dir(settings), dt.date(2026, 11, 2)))
    assert meta["scenario"] == "fraud-wave"
    assert meta["scenario_start"] == "2026-11-01"


def test_cli_help_describes_every_scenario(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NIVESH_HOME", str(tmp_path / "var"))
    result = CliRunner().invoke(cli.app, ["data", "advance", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())
    for name, description in SCENARIO_DESCRIPTIONS.items():
        assert f"{name}: {description}" in text


def test_cli_bad_scenario_exits_2_with_one_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NIVESH_HOME", str(settings.home))
    monkeypatch.setattr(sys, "argv", ["nivesh-ml", "data", "advance", "--scenario", "meteor"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    choices = "income-shock, inflation, new-merchants, fraud-wave"
    assert lines == [f"nivesh-ml: error: unknown scenario 'meteor'; choose from {choices}"]


def test_each_day_reports_its_90_dpd_events_at_the_horizon_s_hazard(
    base: Path, copy: Callable[[str], Path], scenario_runs: dict[str | None, Path]
) -> None:
    """A day's 90-DPD events are drawn so that a score's chance of an event within the horizon is
    the user's default probability, and the income shock makes its users default more."""
    from nivesh_ml.data.synthetic.credit import DEFAULT_ALPHA, DEFAULT_BETA, sigmoid

    risk = pd.read_parquet(base / "credit_labels.parquet").set_index("user_id")["latent_risk"]
    short = copy("short")
    advance_dataset(short, 7, horizon_days=3)
    metas = [partition_meta(partition_path(short, day)) for day in WEEK]
    assert all(meta["horizon_days"] == 3 for meta in metas)
    events = [user for meta in metas for user in meta["dpd90"]]
    assert set(events) <= set(risk.index)
    daily = 1 - (1 - sigmoid(DEFAULT_ALPHA + DEFAULT_BETA * risk.to_numpy())) ** (1 / 3)
    expected, spread = 7 * daily.sum(), np.sqrt(7 * daily.sum())
    assert abs(len(events) - expected) < 4 * spread  # about 7 days x 200 users x 2.5%
    # riskier users go past due more often: the events' mean latent risk is above the population's
    assert risk[events].mean() > risk.mean() + 0.5

    # a year's horizon (the default) spreads the same probability thinly: hardly an event a week
    quiet = [
        user for day in WEEK for user in partition_meta(partition_path(scenario_runs[None], day))["dpd90"]
    ]
    assert len(quiet) < len(events) / 10

    shocked = copy("shocked")
    advance_dataset(shocked, 7, scenario="income-shock", horizon_days=3)
    hit = set(partition_meta(partition_path(shocked, WEEK[0]))["effect"]["users"])
    shocked_events = [u for day in WEEK for u in partition_meta(partition_path(shocked, day))["dpd90"]]
    rate = {
        "hit": sum(u in hit for u in shocked_events) / len(hit),
        "rest": sum(u not in hit for u in shocked_events) / (len(risk) - len(hit)),
    }
    assert rate["hit"] > 2 * rate["rest"]
