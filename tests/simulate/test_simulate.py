"""``nivesh-ml simulate``, short: every scenario and a quiet run against a real server process.

One prepared world (a small population, its features, quick champions of credit risk and
anomaly, a key) is copied for each run (the home relocates itself), then each run simulates a
few days and its summary is checked the way a reviewer would: the drift is seen within the
stated days of the scenario's start, a retrain is triggered on a new data version, the
challenger is canaried, decided by the rule, no answered prediction is missing from the log and
no feature view expired. The report is opened in headless Chromium: every plot must draw.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nivesh_ml.config import Settings, load_settings
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.simulate import SimulationConfig, prepare_simulation, run_simulation, write_report
from nivesh_ml.simulate.loop import simulation_settings
from nivesh_ml.simulate.report import PLOTS
from nivesh_ml.tracking.store import client, registered_name

from ..conftest import SHARED_DATA

START = 2  # the scenario's first simulated day
SMALL = {
    "users": 400, "months": 15, "credit_requests": 100, "anomaly_requests": 400, "canary_min_feedback": 40,
    "scenario_start": START,
}  # fmt: skip
# 15 months: the users' 365-day statistics are full in the anomaly reference as in the traffic (with
# 8, they grew through the simulated days and a quiet run drifted).
# Per scenario: the days it may take to be noticed (issue 17: at most 3 for a fraud wave, 7 for the
# others; the new merchants are held to 3 here, as they are seen the day they come, so the run stays
# short; None: not asserted), the days the short run simulates, and whether its canary is decided
# within them. In this small world (400 users, 400 debits a day) the fraud wave is seen by the flag rate's
# drift or the confirmed frauds (outcomes trigger), the new merchants by the category and flag
# rate; inflation (about 1% a day on prices with a wide spread) and the income shock (defaults
# known only days after a score, among a few hundred users) are not seen within a short run, so for
# them it checks that the loop holds. docs/BENCHMARKS.md ("Living platform") has 30-day runs on
# 1,000 users; tests/tracking/test_canary.py decides canaries both ways and fires the outcomes
# trigger on a shock of defaults.
EXPECTED: dict[str, tuple[int | None, int, bool]] = {
    "fraud-wave": (3, 6, False),
    "new-merchants": (3, 6, False),
    "inflation": (None, 2, False),
    "income-shock": (None, 2, False),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(
        _env_file=None, home=tmp_path_factory.mktemp("base") / "var", datasets_dir=SHARED_DATA
    )


@pytest.fixture(scope="module")
def prepared(base: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world before day 1, made once for the module."""
    folder = tmp_path_factory.mktemp("prepared") / "world"
    prepare_simulation(base, folder, SimulationConfig(**SMALL))  # type: ignore[arg-type]
    return folder


@pytest.fixture
def world(prepared: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "sim"
    shutil.copytree(prepared, folder)
    (folder / "config.json").unlink(missing_ok=True)
    return folder


def simulate(base: Settings, folder: Path, days: int, scenario: str | None) -> dict[str, Any]:
    config = SimulationConfig(days=days, scenario=scenario, **SMALL)  # type: ignore[arg-type]
    records = run_simulation(base, folder, config)
    _, summary = write_report(
        folder,
        records,
        json.loads((folder / "config.json").read_text()),
        drift_thresholds={model: base.drift_threshold(model) for model in config.models},
    )
    result: dict[str, Any] = json.loads(summary.read_text())
    return result


def check_the_loop_held(summary: dict[str, Any]) -> None:
    assert summary["predictions_answered"] > 0
    assert summary["predictions_lost"] == 0
    assert summary["predictions_logged"] == summary["predictions_answered"]
    assert summary["expired_views"] == []


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_scenario_is_noticed_retrained_canaried_and_decided(
    base: Settings, world: Path, scenario: str
) -> None:
    within, days, decided = EXPECTED[scenario]
    summary = simulate(base, world, days, scenario)
    check_the_loop_held(summary)
    assert summary["false_alarms"] == 0, summary["models"]
    assert summary["scenario"] == scenario
    if within is None:
        return
    model = summary["detected_on"]
    assert model is not None, f"{scenario}: no alarm in {days} days: {summary['models']}"
    assert summary["days_to_detection"] <= within
    seen = summary["models"][model]
    assert seen["retrains"], f"{scenario}: nothing triggered a retrain of {model}"
    retrain = seen["retrains"][0]
    assert retrain["trigger"]["kind"] == seen["detected_by"]
    assert seen["retrain_on_new_data"]
    settings = simulation_settings(base, world, SimulationConfig(**SMALL))  # type: ignore[arg-type]
    run = client(settings).get_run(
        client(settings).get_model_version(registered_name(model), retrain["version"]).run_id
    )
    assert run.data.tags["nivesh.trigger"] == retrain["trigger"]["kind"]
    assert retrain["outcome"] == "challenger", retrain  # a winner goes to canary first, a loser stays out
    assert seen["canaried"]
    if decided:
        assert seen["decisions"], f"{scenario}: the canary of {model} v{retrain['version']} was never decided"
    for decision in seen["decisions"]:  # decided by the rule: the p-value against alpha says which way
        assert (decision["p_value"] < settings.canary_alpha) == (decision["status"] == "rolled_back")
        assert min(decision["champion_n"], decision["challenger_n"]) >= SMALL["canary_min_feedback"]
    with session_scope(app_engine(settings)) as session:
        recorded = [row.outcome for row in repository.canary_decisions(session, model)]
    assert recorded == [decision["status"] for decision in seen["decisions"]]


def test_a_quiet_run_continues_after_an_interruption_raises_no_alarm_and_its_report_renders(
    base: Settings, world: Path
) -> None:
    first = run_simulation(base, world, SimulationConfig(days=1, **SMALL))  # type: ignore[arg-type]
    assert [record["day"] for record in first] == [1]
    summary = simulate(base, world, 3, None)  # the same settings, more days: it continues after day 1
    records = [json.loads(line) for line in (world / "days.jsonl").read_text().splitlines()]
    assert [record["day"] for record in records] == [1, 2, 3]
    assert records[0] == first[0]  # day 1 was not run again
    assert records[0]["date"] < records[1]["date"] < records[2]["date"]
    check_the_loop_held(summary)
    for model, seen in summary["models"].items():
        assert seen["alarm_days"] == [], f"{model}: a false alarm on a quiet run: {seen}"
        assert seen["retrains"] == []
        assert seen["decisions"] == []
    # the outcomes arrived with the data: yesterday's debits confirmed, no default horizon closed yet
    assert set(records[-1]["quality"]) == {"anomaly"}
    assert sum(item["n"] for item in records[-1]["quality"]["anomaly"].values()) > 0
    rendered = _rendered_plots(world / "report.html")
    assert rendered == {f"plot-{name}" for name in PLOTS}
    with pytest.raises(Exception, match="other settings"):
        run_simulation(base, world, SimulationConfig(days=3, scenario="inflation", **SMALL))  # type: ignore[arg-type]


def _rendered_plots(page: Path) -> set[str]:
    """The ids of the report's images that decoded and drew in headless Chromium."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: `make test` installs it (apt-get install chromium)"
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r'data-rendered="([^"]*)"', dom)
    assert found, f"the page's load handler did not run: {dom[:500]}"
    return {name for name in found.group(1).split(",") if name}
