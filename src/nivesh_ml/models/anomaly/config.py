"""The anomaly detector's settings: one frozen dataclass, stored with every model version."""

from __future__ import annotations

from dataclasses import dataclass, replace

from nivesh_ml.models.pyfunc import JsonConfig

__all__ = ["AnomalyConfig", "birmingham_config", "fast_config", "nivesh_config", "quick_config"]


@dataclass(frozen=True)
class AnomalyConfig(JsonConfig):
    """How features are built, the forest is fitted and its alert threshold calibrated."""

    # Time split by whole months: history only, then train, calibrate the threshold, test.
    warmup_months: int = 3
    calibration_months: int = 3
    test_months: int = 4
    # transaction_stats snapshots for training: as of each period start ("MS" month, "W-MON" week).
    snapshot_freq: str = "MS"
    # Context windows (seconds): velocity over the last hour and day, duplicates within minutes.
    velocity_windows_s: tuple[int, int] = (3_600, 86_400)
    duplicate_window_s: int = 600
    # Isolation Forest
    # Users the model is trained and tested on (a seeded sample); None: every user.
    max_users: int | None = None
    train_sample: int = 400_000
    n_estimators: int = 300  # 200 -> 400 trees measured +0.7 recall points; 300 halves the spread
    max_samples: int = 512
    max_features: float = 1.0
    # The alert threshold: the score quantile that leaves this share of held-out normal debits flagged.
    target_fpr: float = 0.01
    reasons: int = 3
    n_jobs: int = 2
    seed: int = 42


def nivesh_config(seed: int = 42) -> AnomalyConfig:
    """The default: 24 months of synthetic data (3 warm-up, 14 train, 3 calibration, 4 test)."""
    return AnomalyConfig(seed=seed)


def fast_config(seed: int = 42) -> AnomalyConfig:
    """``nivesh-ml up``'s budget: the Nivesh data on a seeded sample of 4,000 users (about 40% of
    the feature computation of :func:`nivesh_config`; the fit already samples 400,000 rows)."""
    return replace(AnomalyConfig(seed=seed), max_users=4_000)


def quick_config(seed: int = 42) -> AnomalyConfig:
    """A few hundred users over 8 months, 50 small trees: seconds, for tests and smoke runs."""
    return replace(
        AnomalyConfig(seed=seed),
        warmup_months=2,
        calibration_months=2,
        test_months=2,
        train_sample=50_000,
        n_estimators=50,
        max_samples=256,
        n_jobs=1,
    )


def birmingham_config(seed: int = 42) -> AnomalyConfig:
    """Birmingham cards, unsupervised: 3 warm-up months, every later month trained on and scored."""
    return replace(AnomalyConfig(seed=seed), warmup_months=3, calibration_months=0, test_months=0)
