"""The promotion gate: a pure decision over scores, so it is easy to read and to test.

A new version becomes **challenger** only if it clears its model's quality bar, and
**champion** only if it is not worse than the current champion, on the same evaluation data,
by more than the tolerance. With no champion yet, a version that clears the bar is both.
"""

from __future__ import annotations

from dataclasses import dataclass

from nivesh_ml.config import QualityBar

__all__ = ["GateDecision", "decide"]


@dataclass(frozen=True)
class GateDecision:
    """What the gate decided for one candidate, and why, in one line."""

    metric: str
    candidate_score: float
    champion_score: float | None
    challenger: bool
    champion: bool
    reason: str

    @property
    def outcome(self) -> str:
        """``champion``, ``challenger`` or ``rejected``."""
        return "champion" if self.champion else "challenger" if self.challenger else "rejected"


def decide(bar: QualityBar, candidate: float, champion: float | None, tolerance: float) -> GateDecision:
    """Decide a candidate's fate from its score and the champion's score on the same data."""
    name, better = bar.metric, ">=" if bar.higher_is_better else "<="

    def result(challenger: bool, won: bool, reason: str) -> GateDecision:
        return GateDecision(name, candidate, champion, challenger, won, reason)

    if not bar.passes(candidate):
        needs = f"needs {better} {bar.threshold}"
        return result(False, False, f"fails the quality bar: {name} {candidate:.4f}, {needs}")
    if champion is None:
        return result(True, True, f"clears the bar ({name} {candidate:.4f}) and there is no champion yet")
    margin = candidate - champion if bar.higher_is_better else champion - candidate
    if margin >= -tolerance:
        versus = f"{name} {candidate:.4f} vs champion {champion:.4f}"
        return result(True, True, f"{versus}: not worse by more than {tolerance}")
    return result(
        True, False, f"{name} {candidate:.4f} loses to champion {champion:.4f} by more than {tolerance}"
    )
