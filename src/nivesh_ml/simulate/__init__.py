"""``nivesh-ml simulate``: the living platform's loop over simulated days, and its report."""

from __future__ import annotations

from nivesh_ml.simulate.loop import (
    LOOPED_MODELS,
    SimulationConfig,
    prepare_simulation,
    run_simulation,
    simulation_settings,
)
from nivesh_ml.simulate.report import summarise, write_report

__all__ = [
    "LOOPED_MODELS",
    "SimulationConfig",
    "prepare_simulation",
    "run_simulation",
    "simulation_settings",
    "summarise",
    "write_report",
]
