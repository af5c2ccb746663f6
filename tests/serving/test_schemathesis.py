"""The OpenAPI contract under fuzzing: schemathesis (pinned) against a real server process that
serves real quick-trained champions of all six models.

Every operation, 50 examples each, every check: no server error, no response outside its
documented schema, no schema-valid request refused, no schema-violating request accepted.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nivesh_ml.config import OFFLINE_ENV, QualityBar, Settings
from nivesh_ml.models.common import TrainOptions
from nivesh_ml.pipelines.up import run_up
from nivesh_ml.tracking.registry import list_models
from nivesh_ml.tracking.store import MODEL_KEYS

from .conftest import STATIC_KEY, isolated_settings
from .processes import serving

# Quick recipes do not reach every model's bar; the contract, not the quality, is under test here.
NO_BAR = {
    "intent": QualityBar(metric="accuracy", threshold=0.0),
    "ner": QualityBar(metric="f1", threshold=0.0),
}
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
SHARED_DATA = Path(os.environ.get("NIVESH_DATASETS_DIR", Path(__file__).parents[3] / "shared" / "data"))


@pytest.fixture(scope="module")
def quick_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home where `nivesh-ml up` trained every model with its quick recipe (about two minutes)."""
    home = tmp_path_factory.mktemp("fuzz") / "var"
    settings = isolated_settings(home, datasets_dir=SHARED_DATA, users=200, months=6, quality_bars=NO_BAR)
    run_up(settings, serve=False, options=TrainOptions(quick=True))
    champions = {row["model"] for row in list_models(settings) if "champion" in row["aliases"].split(",")}
    assert champions == set(MODEL_KEYS)
    return settings


@pytest.fixture(scope="module")
def quick_server(quick_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m nivesh_ml.serving` on the quick home; yields its URL."""
    log_path = tmp_path_factory.mktemp("fuzz-log") / "server.log"
    extra = {"NIVESH_DATASETS_DIR": str(quick_home.datasets_dir), "NIVESH_RATE_LIMIT": "100000/minute"}
    with serving(quick_home.home, log_path, **extra) as server:
        yield server.url


def test_schemathesis_finds_nothing_against_the_quick_champions(quick_server: str, tmp_path: Path) -> None:
    command = [
        str(SCHEMATHESIS), "run", f"{quick_server}/openapi.json",
        "--header", f"X-API-Key: {STATIC_KEY}", "--checks", "all", "--max-examples", "50",
        "--seed", "20261207", "--request-timeout", "30", "--no-color",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env={**os.environ, **OFFLINE_ENV}, check=False,
        cwd=tmp_path,  # its cache folder lands here, not in the checkout
    )  # fmt: skip
    summary = done.stdout[-4000:]
    assert done.returncode == 0, summary
    operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", summary)
    assert operations is not None, summary
    assert operations[1] == operations[2] == operations[3], summary  # every operation was tested
    generated = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert generated is not None, summary
    assert int(generated[1]) >= 500, summary  # the fuzzer really ran
