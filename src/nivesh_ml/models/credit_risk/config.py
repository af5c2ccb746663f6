"""Credit-risk settings: training budget, splits, fairness limits and the risk bands.

The fairness limits of the promotion gate come from ``Settings`` (:meth:`FairnessLimits.from_settings`);
the risk-band cut-offs are module constants. Tests and callers override them by parameter
(:class:`FairnessLimits`), never by editing this file.
"""

from __future__ import annotations

from dataclasses import dataclass

from nivesh_ml.config import Settings

__all__ = [
    "AGE_BANDS",
    "LABEL",
    "MAX_DP_DIFFERENCE",
    "MAX_EO_DIFFERENCE",
    "MODEL_KEY",
    "RISK_BANDS",
    "VIEW",
    "CreditRiskConfig",
    "FairnessLimits",
    "age_band",
    "risk_band",
]

MODEL_KEY = "credit-risk"
VIEW = "user_financial_profile"  # the feature view the Nivesh model reads, as of the label date
LABEL = "default_12m"  # credit_labels' label and the Nivesh evaluation files' label column

# Promotion-gate fairness limits (largest allowed gap between groups): the defaults of
# Settings.credit_max_dp_difference and Settings.credit_max_eo_difference.
MAX_DP_DIFFERENCE = 0.10  # demographic parity: decline rate
MAX_EO_DIFFERENCE = 0.10  # equalised odds: max of the TPR gap and the FPR gap

# Risk bands by calibrated probability of default: (band, upper bound, exclusive). With a base
# rate of about 7% on Nivesh users: A and B are well below average, C is about average, D is
# elevated and E starts at the platform's default high-risk threshold (0.30).
RISK_BANDS: tuple[tuple[str, float], ...] = (
    ("A", 0.02),
    ("B", 0.05),
    ("C", 0.10),
    ("D", 0.30),
    ("E", 1.0),
)

# Age bands used for fairness checks only: age is never a model input (see schema.py).
AGE_BANDS: tuple[tuple[int, str], ...] = ((30, "18-29"), (45, "30-44"), (60, "45-59"), (200, "60+"))


@dataclass(frozen=True)
class FairnessLimits:
    """What the gate allows, and how big a group must be before its rates count.

    A group's selection rate counts once it has ``min_group_size`` members; its true-positive
    rate once it has ``min_group_positives`` defaults, its false-positive rate once it has as many
    non-defaults. Smaller groups are reported but cannot fail the gate: a rate measured on a
    handful of people is noise, and a gate that fails on noise teaches people to ignore it.
    """

    max_dp_difference: float = MAX_DP_DIFFERENCE
    max_eo_difference: float = MAX_EO_DIFFERENCE
    min_group_size: int = 50
    min_group_positives: int = 20
    alpha: float = 0.05  # a gap above its limit fails the gate when significant at this level

    @classmethod
    def from_settings(cls, settings: Settings) -> FairnessLimits:
        """The limits ``settings`` sets (``NIVESH_CREDIT_MAX_*_DIFFERENCE`` and the group minimums)."""
        return cls(
            max_dp_difference=settings.credit_max_dp_difference,
            max_eo_difference=settings.credit_max_eo_difference,
            min_group_size=settings.credit_fairness_min_group_size,
            min_group_positives=settings.credit_fairness_min_positives,
            alpha=settings.credit_fairness_alpha,
        )


@dataclass(frozen=True)
class CreditRiskConfig:
    """How to train: search budget, splits and calibration (``quick()`` for tests and smoke runs)."""

    trials: int = 50
    max_rounds: int = 1_000
    early_stopping_rounds: int = 50
    n_jobs: int = 2
    test_fraction: float = 0.15  # Nivesh users held out for the gate's evaluation
    valid_fraction: float = 0.15  # holdout regime: early stopping and the Optuna objective
    calib_fraction: float = 0.15  # holdout regime: the calibration map
    # With fewer training rows than this, a single validation split is too noisy to tune on:
    # tune on k-fold CV instead, refit on all rows, calibrate on out-of-fold predictions.
    cv_max_rows: int = 5_000
    cv_folds: int = 5
    isotonic_min_positives: int = 200  # fewer defaults to calibrate on: Platt scaling
    bootstrap_resamples: int = 1_000
    max_reasons: int = 4  # adverse-action notices give the principal reasons, up to four

    @classmethod
    def fast(cls) -> CreditRiskConfig:
        """``nivesh-ml up``'s budget: a 20-trial search (``nivesh-ml train credit-risk`` runs 50)."""
        return cls(trials=20)

    @classmethod
    def quick(cls) -> CreditRiskConfig:
        """A few trials of few trees: for tests and ``--quick``."""
        return cls(trials=3, max_rounds=60, early_stopping_rounds=10, cv_folds=3)


def risk_band(probability: float) -> str:
    """The band (A best .. E worst) of a calibrated probability of default."""
    for band, upper in RISK_BANDS:
        if probability < upper:
            return band
    return RISK_BANDS[-1][0]


def age_band(age: float) -> str:
    """The fairness age band of an age in years."""
    for upper, name in AGE_BANDS:
        if age < upper:
            return name
    return AGE_BANDS[-1][1]
