"""Outcomes that arrive late, as in life: 90-days-past-due events, emitted day by day with the data.

The generator knows each user's latent credit risk ``z`` (``credit_labels.latent_risk``) and
draws ``default_12m`` from ``p = sigmoid(alpha + beta z)`` (:mod:`.credit`): the probability of a
default within the horizon. Every advanced day carries the day's 90-DPD events (the bureau's
report: which users went 90 days past due that day) in its partition record (``dpd90``). Each
user's events are a renewal process with the daily hazard that makes the chance of at least one
event in any ``horizon_days`` equal to ``p``::

    P(event on a day) = 1 - (1 - p) ** (1 / horizon_days)

so a score made as of day ``t`` has the outcome "an event in ``(t, t + horizon_days]``", known
once the data reaches ``t + horizon_days``, with probability ``p`` (what a calibrated model
predicts). A scenario may add risk to the users it names (``Scenario.risk_shift``): a user whose
salary the ``income-shock`` scenario stopped carries ``SHOCK_RISK`` more on each day of the
shock. The horizon is the data set's clock: 365 days in life (``NIVESH_OUTCOME_HORIZON_DAYS``);
``nivesh-ml simulate`` compresses it to a few simulated days.
:mod:`nivesh_ml.monitoring.confirmed` joins the events to the credit-risk predictions.
"""

from __future__ import annotations

import numpy as np

from nivesh_ml.data.synthetic.credit import DEFAULT_ALPHA, DEFAULT_BETA, sigmoid

__all__ = ["SHOCK_RISK", "delinquent"]

SHOCK_RISK = 1.5  # latent-risk units a lost salary adds (about 4x the odds of default)


def delinquent(risk: np.ndarray, horizon_days: int, rng: np.random.Generator) -> np.ndarray:
    """A mask of the users with a 90-DPD event today, from each user's latent ``risk`` today."""
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon_days}")
    p = sigmoid(DEFAULT_ALPHA + DEFAULT_BETA * risk)
    daily = 1.0 - (1.0 - p) ** (1.0 / horizon_days)
    return np.asarray(rng.random(risk.size) < daily, dtype=bool)
