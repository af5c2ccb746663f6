"""The Prometheus config and alert rules pass promtool's checks and unit tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool not found: `make test` installs it (Debian package prometheus) when run as root"
        )
    return subprocess.run([promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("check", "config", "prometheus.yml"),
        ("check", "rules", "alerts.yml"),
        ("test", "rules", "alerts_test.yml"),
    ],
)
def test_promtool(args: tuple[str, ...]) -> None:
    result = _promtool(*args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_runbook_entry() -> None:
    runbook = (PROMETHEUS.parents[1] / "docs" / "DEPLOYMENT_RUNBOOK.md").read_text().lower()
    alerts = [
        line.split(":", 1)[1].strip()
        for line in (PROMETHEUS / "alerts.yml").read_text().splitlines()
        if line.strip().startswith("- alert:")
    ]
    assert len(alerts) == 11
    for alert in alerts:
        assert f"### {alert.lower()}" in runbook, f"docs/DEPLOYMENT_RUNBOOK.md has no section for {alert}"
