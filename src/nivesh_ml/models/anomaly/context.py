"""What a user's recent debits say about a new one: velocity, duplicates, merchants seen lately.

One vectorised function, :func:`context_features`, for both sides: in training the *history* is
every debit of every user and the *queries* are those same debits (``includes_self=True``: each
query is found in the history and not counted against itself); in serving the history is the
few recent transactions the caller passes for one user, and the query the transaction to score.
Windows include the query's own second (a card statement dated by day has many debits at
midnight), so two debits at the same instant see each other.

Each count is a pair of binary searches over a composite sort key (group * span + time), so the
whole 8.8M-row data set takes seconds and one transaction microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CONTEXT_COLUMNS", "Debits", "context_features"]

CONTEXT_COLUMNS = (
    "count_1h",
    "count_24h",
    "same_merchant_1h",
    "seconds_since_previous",
    "duplicate_seconds",
    "merchant_seen_since",
)
_NEVER = np.inf
_FEW = 64


@dataclass(frozen=True)
class Debits:
    """Debits as arrays: user and merchant labels, time in whole seconds, amount in paise."""

    user: np.ndarray  # object (str) or int labels
    seconds: np.ndarray  # int64 seconds since the epoch (IST wall clock)
    merchant: np.ndarray  # object (str) labels
    paise: np.ndarray  # int64 amount in paise

    @classmethod
    def build(cls, user: object, timestamp: object, merchant: object, amount: object) -> Debits:
        """From column-likes: timestamps as datetime64, amounts in rupees."""
        stamps = np.asarray(timestamp, dtype="datetime64[ns]")
        return cls(
            user=np.asarray(user, dtype=object),
            seconds=stamps.astype("datetime64[s]").astype(np.int64),
            merchant=np.asarray(merchant, dtype=object),
            paise=np.rint(np.asarray(amount, dtype=np.float64) * 100).astype(np.int64),
        )

    def __len__(self) -> int:
        return int(self.seconds.size)


def context_features(
    history: Debits,
    queries: Debits,
    since: np.ndarray,
    *,
    windows_s: tuple[int, int],
    duplicate_s: int,
    includes_self: bool,
) -> dict[str, np.ndarray]:
    """Per query: debits in the last hour and day, at the same merchant in the hour, seconds since the
    previous debit and since the same amount at the same merchant (inf: none), and whether the
    merchant was paid since ``since`` (the query's feature snapshot; int64 seconds)."""
    self_count = 1 if includes_self else 0
    user_h, user_q = _codes(history.user, queries.user)
    merchant_h, merchant_q = _codes(history.merchant, queries.merchant)
    n_merchants = int(max(merchant_h.max(initial=0), merchant_q.max(initial=0))) + 1
    by_user = _Keyed(user_h, history.seconds)
    by_merchant = _Keyed(user_h * n_merchants + merchant_h, history.seconds)
    pair_h, pair_q = _pair_codes(
        user_h * n_merchants + merchant_h, history.paise, user_q * n_merchants + merchant_q, queries.paise
    )
    by_amount = _Keyed(pair_h, history.seconds)
    t = queries.seconds
    hour, day = windows_s
    merchant_q_key = user_q * n_merchants + merchant_q
    return {
        "count_1h": by_user.count(user_q, t - hour, t) - self_count,
        "count_24h": by_user.count(user_q, t - day, t) - self_count,
        "same_merchant_1h": by_merchant.count(merchant_q_key, t - hour, t) - self_count,
        "seconds_since_previous": by_user.gap(user_q, t, self_count),
        "duplicate_seconds": np.where(
            by_amount.count(pair_q, t - duplicate_s, t) > self_count,
            by_amount.gap(pair_q, t, self_count),
            _NEVER,
        ),
        "merchant_seen_since": (by_merchant.count(merchant_q_key, since, t) - self_count) > 0,
    }


class _Keyed:
    """Rows sorted by (group, time) with a composite int64 key, for window counts and gaps."""

    def __init__(self, group: np.ndarray, seconds: np.ndarray) -> None:
        self.base = int(seconds.min(initial=0)) - 1
        self.span = int(seconds.max(initial=0)) - self.base + 2
        key = group.astype(np.int64) * self.span + (seconds - self.base)
        self.order = np.argsort(key, kind="stable")
        self.key = key[self.order]
        self.seconds = seconds[self.order]

    def _key(self, group: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        clipped = np.clip(np.asarray(seconds, dtype=np.int64) - self.base, 0, self.span - 1)
        return group.astype(np.int64) * self.span + clipped

    def count(self, group: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Rows of ``group`` with ``start <= time <= end``."""
        low = np.searchsorted(self.key, self._key(group, start), side="left")
        high = np.searchsorted(self.key, self._key(group, end), side="right")
        return np.asarray(high - low, dtype=np.int64)

    def gap(self, group: np.ndarray, at: np.ndarray, skip: int) -> np.ndarray:
        """Seconds from the latest row of ``group`` at or before ``at`` (not counting ``skip`` of
        the rows at ``at`` itself) to ``at``; inf when there is none."""
        position = np.searchsorted(self.key, self._key(group, at), side="right") - 1 - skip
        safe = np.clip(position, 0, max(self.key.size - 1, 0))
        if self.key.size == 0:
            return np.full(group.shape, _NEVER)
        same = (position >= 0) & (self.key[safe] // self.span == group)
        return np.where(same, (at - self.seconds[safe]).astype(np.float64), _NEVER)


def _codes(history: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shared integer codes for two arrays of labels."""
    labels = np.concatenate([history, queries])
    if labels.size <= _FEW:  # serving: a dict beats a pandas call on a handful of labels
        index: dict[object, int] = {}
        codes = np.array([index.setdefault(label, len(index)) for label in labels], dtype=np.int64)
    else:
        codes = pd.factorize(labels)[0].astype(np.int64)
    return codes[: history.size], codes[history.size :]


def _pair_codes(
    group_h: np.ndarray, paise_h: np.ndarray, group_q: np.ndarray, paise_q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes of (user-merchant, amount) pairs, shared by history and queries."""
    group, paise = np.concatenate([group_h, group_q]), np.concatenate([paise_h, paise_q])
    span = int(paise.max(initial=0)) + 1
    if int(group.max(initial=0)) + 1 > np.iinfo(np.int64).max // span:
        raise OverflowError("too many user-merchant pairs and amounts to key in 64 bits")
    _, codes = np.unique(group * span + paise, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    return codes[: group_h.size], codes[group_h.size :]
