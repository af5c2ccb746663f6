"""The embedded default data set: synthetic Nivesh users under ``<home>/data/synthetic``.

Generation is skipped when a data set made with the same configuration is already there,
so ``nivesh-ml up`` can be interrupted and run again without redoing finished work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nivesh_ml.config import Settings
from nivesh_ml.data.synthetic import STAGES, GeneratorConfig, generate, read_manifest, write_dataset
from nivesh_ml.log import get_logger
from nivesh_ml.progress import stage_progress

__all__ = ["ensure_synthetic", "synthetic_dir"]

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
