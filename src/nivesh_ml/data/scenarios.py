"""The names and one-line descriptions of the world scenarios that ``nivesh-ml data advance`` plays.

Kept apart from their implementation (:mod:`nivesh_ml.data.synthetic.scenarios`) and free of
imports, so the command line can show them in ``--help`` without loading the generator.
"""

from __future__ import annotations

__all__ = ["SCENARIO_DESCRIPTIONS", "scenario_help"]

SCENARIO_DESCRIPTIONS: dict[str, str] = {
    "income-shock": "20% of salary earners lose their salary credits and cut their spending by 30%",
    "inflation": "everyday prices drift up about 1% a day, compounding, at a rate per category",
    "new-merchants": "a quarter of food and shopping spends go to unseen merchants and a new category",
    "fraud-wave": "anomalies at 5x the normal rate, plus night-time card testing at unseen merchants",
}


def scenario_help() -> str:
    """Every scenario with its description, for a command's help text."""
    return "; ".join(f"{name}: {text}" for name, text in SCENARIO_DESCRIPTIONS.items())
