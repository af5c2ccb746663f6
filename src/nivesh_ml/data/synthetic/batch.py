"""Transactions while they are generated: parallel numpy arrays, one entry per transaction.

Each stage returns a :class:`Batch`; :mod:`assemble` concatenates them, sorts them and turns
the codes into the public frame. Nothing here is per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from nivesh_ml.data.synthetic.merchants import CHANNELS
from nivesh_ml.data.synthetic.profiles import hour_cdf

__all__ = ["Batch", "concat", "draw_channels", "hours_of", "make_batch", "poisson_rows", "seconds_in_hours"]


@dataclass
class Batch:
    """Transactions as codes: users, accounts, day indices and merchants index their tables."""

    user: np.ndarray  # int32 user index
    account: np.ndarray  # int32 account index
    day: np.ndarray  # int32 day index in the window
    second: np.ndarray  # int32 seconds after local midnight
    amount: np.ndarray  # float64 INR > 0
    credit: np.ndarray  # bool: money in
    category: np.ndarray  # int8 index into CATEGORIES
    merchant: np.ndarray  # int32 index into the merchant vocabulary
    channel: np.ndarray  # int8 index into CHANNELS
    anomaly: np.ndarray  # int8 index into ANOMALY_TYPES (0: normal)

    def __len__(self) -> int:
        return int(self.user.size)

    def take(self, index: np.ndarray) -> Batch:
        """The rows at ``index`` (integer positions or a boolean mask)."""
        return Batch(**{f.name: getattr(self, f.name)[index] for f in fields(self)})


_DTYPES = {
    "user": np.int32,
    "account": np.int32,
    "day": np.int32,
    "second": np.int32,
    "amount": np.float64,
    "credit": np.bool_,
    "category": np.int8,
    "merchant": np.int32,
    "channel": np.int8,
    "anomaly": np.int8,
}


def make_batch(
    *,
    user: np.ndarray,
    account: np.ndarray,
    day: np.ndarray,
    second: np.ndarray,
    amount: np.ndarray,
    credit: bool | np.ndarray,
    category: int | np.ndarray,
    merchant: int | np.ndarray,
    channel: int | np.ndarray,
    anomaly: int | np.ndarray = 0,
) -> Batch:
    """A batch from arrays, broadcasting scalars (a category, a channel) to every row."""
    n = np.asarray(user).size
    values = {
        "user": user,
        "account": account,
        "day": day,
        "second": second,
        "amount": amount,
        "credit": credit,
        "category": category,
        "merchant": merchant,
        "channel": channel,
        "anomaly": anomaly,
    }
    arrays: dict[str, np.ndarray] = {
        k: np.broadcast_to(np.asarray(v, dtype=_DTYPES[k]), (n,)).copy() for k, v in values.items()
    }
    return Batch(**arrays)


def concat(batches: list[Batch]) -> Batch:
    """One batch holding the rows of ``batches`` in order."""
    if not batches:
        empty: dict[str, np.ndarray] = {k: np.zeros(0, dtype=t) for k, t in _DTYPES.items()}
        return Batch(**empty)
    return Batch(**{k: np.concatenate([getattr(b, k) for b in batches]) for k in _DTYPES})


def seconds_in_hours(hour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Seconds after midnight, uniform within each given hour."""
    return (hour.astype(np.int32) * 3600 + rng.integers(0, 3600, hour.size)).astype(np.int32)


def hours_of(profile: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Seconds after midnight for ``n`` rows, the hour drawn from an hour-of-day profile."""
    return seconds_in_hours(np.searchsorted(hour_cdf(profile), rng.random(n), side="right"), rng)


def draw_channels(probabilities: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` channel codes drawn from ``{channel name: probability}``."""
    names = list(probabilities)
    p = np.array([probabilities[name] for name in names])
    choice = np.searchsorted(np.cumsum(p[:-1]) / p.sum(), rng.random(n), side="right")
    return np.array([CHANNELS.index(name) for name in names], dtype=np.int8)[choice]


def poisson_rows(rate: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw Poisson counts from a (rows x months) rate grid; one (row, month) pair per event."""
    counts = rng.poisson(rate)
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    months = max(rate.shape[1], 1)
    return flat // months, flat % months
