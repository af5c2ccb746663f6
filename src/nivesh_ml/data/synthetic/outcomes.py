"""Outcomes that arrive late, as in life: whether a scored user goes on to default.

The generator knows each user's latent credit risk ``z`` (``credit_labels.latent_risk``) and
draws ``default_12m`` from ``sigmoid(alpha + beta z)`` (:mod:`.credit`). A user scored on an
advanced day has an *observed* outcome: a 90-days-past-due event within the horizon, drawn
from the same model, and a user whose salary the ``income-shock`` scenario stopped carries
``SHOCK_RISK`` more risk from the day it began. Each user's draw is fixed by (seed, user), so a
user scored twice has one outcome, and the outcome is known only ``lag`` days after the score
(the caller, e.g. ``nivesh-ml simulate``, holds it back until then).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from nivesh_ml.data.synthetic.credit import DEFAULT_ALPHA, DEFAULT_BETA, sigmoid
from nivesh_ml.data.synthetic.partitions import advanced_days, partition_meta
from nivesh_ml.data.synthetic.storage import read_manifest

__all__ = ["SHOCK_RISK", "credit_outcomes", "shocked_users"]

SHOCK_RISK = 1.5  # latent-risk units a lost salary adds (about 4x the odds of default)


def shocked_users(folder: Path) -> set[str]:
    """Users an ``income-shock`` day of the data set cut off from their salary (empty if none)."""
    manifest = read_manifest(folder) or {}
    for record in reversed(advanced_days(manifest)):
        if record.get("scenario") == "income-shock":
            effect = partition_meta(Path(folder) / record["file"]).get("effect") or {}
            return {str(user) for user in effect.get("users", [])}
    return set()


def credit_outcomes(folder: Path, user_ids: list[str], *, seed: int) -> dict[str, bool]:
    """Whether each of ``user_ids`` defaults (a 90-days-past-due event within the horizon)."""
    labels = pd.read_parquet(Path(folder) / "credit_labels.parquet", columns=["user_id", "latent_risk"])
    risk = labels.drop_duplicates("user_id", keep="last").set_index("user_id")["latent_risk"]
    shocked = shocked_users(folder)
    outcomes: dict[str, bool] = {}
    for user in user_ids:
        z = float(risk.get(user, 0.0)) + (SHOCK_RISK if user in shocked else 0.0)
        probability = float(sigmoid(np.array([DEFAULT_ALPHA + DEFAULT_BETA * z]))[0])
        outcomes[user] = _uniform(seed, user) < probability
    return outcomes


def _uniform(seed: int, user: str) -> float:
    digest = hashlib.blake2b(f"outcome:{seed}:{user}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
