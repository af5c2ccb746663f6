"""The embedded default data set: synthetic Nivesh users under ``<home>/data/synthetic``.

Generation is skipped when a data set made with the same configuration is already there,
so ``nivesh-ml up`` can be interrupted and run again without redoing finished work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nivesh_ml.config import Settings
from nivesh_ml.data.synthetic import STAGES, GeneratorConfig, generate, read_manifest, write_dataset
from nivesh_ml.data.synthetic.advance import advance_dataset
from nivesh_ml.data.synthetic.scenarios import get_scenario
from nivesh_ml.log import get_logger
from nivesh_ml.progress import item_progress, stage_progress

__all__ = ["advance_synthetic", "ensure_synthetic", "synthetic_dir"]

log = get_logger(__name__)


def synthetic_dir(settings: Settings) -> Path:
    """Where the synthetic data set lives."""
    return settings.data_dir / "synthetic"


def ensure_synthetic(settings: Settings, config: GeneratorConfig, *, force: bool = False) -> dict[str, Any]:
    """Generate and write the synthetic data set unless one with ``config`` is already there.

    Returns its manifest (row counts, file hashes, version).
    """
    out_dir = synthetic_dir(settings)
    manifest = read_manifest(out_dir)
    if manifest is not None and not force and manifest.get("config") == config.to_json():
        log.info(
            "synthetic data already generated", extra={"version": manifest["version"], "path": str(out_dir)}
        )
        return manifest
    with stage_progress("generating synthetic data", [*STAGES, "write"]) as done:
        data = generate(config, progress=done)
        manifest = write_dataset(data, out_dir)
        done("write")
    log.info("synthetic data written", extra={"version": manifest["version"], "rows": manifest["rows"]})
    return manifest


def advance_synthetic(
    settings: Settings, days: int, *, scenario: str | None = None, seed: int | None = None
) -> dict[str, Any]:
    """Append ``days`` days to the synthetic data set, optionally under a ``scenario``; returns its manifest.

    Each day is written and recorded before the next begins, so an interrupted run keeps its
    finished days and the next run continues after them.
    """
    if scenario is not None:
        get_scenario(scenario)  # an unknown name fails before any work
    with item_progress("advancing synthetic data", total=days) as step:
        manifest = advance_dataset(
            synthetic_dir(settings),
            days,
            scenario=scenario,
            seed=seed,
            horizon_days=settings.outcome_horizon_days,
            on_day=lambda _day: step(1),
        )
    advanced = manifest["advanced"]
    log.info(
        "synthetic data advanced",
        extra={"version": manifest["version"], "last_day": advanced["last_day"], "scenario": scenario},
    )
    return manifest
