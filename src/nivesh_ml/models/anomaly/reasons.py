"""Why a transaction scored high, in words: the feature groups that pushed its score up most.

For each group of related features (amount, hour, merchant, channel, velocity, daily volume,
duplicate), the transaction is re-scored with that group set to its typical value (the training
median); the drop in score is the group's push. The groups with the largest positive pushes are
said in words, with the numbers that make them concrete ("amount 9.1x this user's usual for
groceries (usual 430)").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from nivesh_ml.features.definitions import CHANNELS, SPEND_CATEGORIES
from nivesh_ml.models.anomaly.features import FEATURES, Priors, StatsTable, Transactions, lookup, present
from nivesh_ml.models.anomaly.forest import CompiledForest

__all__ = ["GROUPS", "Details", "explain", "group_pushes"]

GROUPS: dict[str, tuple[str, ...]] = {
    "amount": ("amount_z", "amount_over_p99"),
    "hour": ("night_rarity",),
    "merchant": ("new_merchant", "merchant_rarity"),
    "channel": ("new_channel",),
    "velocity": ("velocity_1h", "same_merchant_1h", "burst"),
    "daily_volume": ("velocity_24h",),
    "duplicate": ("duplicate",),
}
_MIN_PUSH = 0.002  # score points; below this a group did not matter


def group_pushes(
    forest: CompiledForest, matrix: np.ndarray, reference: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows' scores, and (rows, groups) score minus the score with each group set to typical."""
    n = matrix.shape[0]
    variants = [matrix]
    for names in GROUPS.values():
        changed = matrix.copy()
        for name in names:
            column = FEATURES.index(name)
            changed[:, column] = reference[column]
        variants.append(changed)
    scores = forest.score(np.concatenate(variants)).reshape(len(variants), n)
    return scores[0], np.asarray((scores[0][None, :] - scores[1:]).T, dtype=np.float64)


@dataclass(frozen=True)
class Details:
    """The numbers the sentences quote, per transaction."""

    txns: Transactions
    usual_amount: np.ndarray
    night_share: np.ndarray
    merchant_share: np.ndarray
    channel_share: np.ndarray
    daily_usual: np.ndarray
    context: Mapping[str, np.ndarray]
    features: np.ndarray

    @classmethod
    def build(
        cls,
        txns: Transactions,
        stats: StatsTable,
        context: Mapping[str, np.ndarray],
        priors: Priors,
        features: np.ndarray,
    ) -> Details:
        """Collect the quoted numbers for ``txns`` from their stats, context and the priors."""
        rows = txns.stats_row
        usual = stats.column("debit_amount_mean_365d", rows)
        for cat in present(txns.category, SPEND_CATEGORIES):
            here = txns.category == cat
            if here.any():
                own = stats.column(f"debit_amount_mean_{cat}_365d", rows[here])
                usual[here] = np.where(np.isfinite(own), own, usual[here])
        channel = np.full(rows.size, np.nan)
        for name in present(txns.channel, tuple(CHANNELS)):
            here = txns.channel == name
            channel[here] = stats.column(f"channel_share_{CHANNELS[name]}_365d", rows[here])
        return cls(
            txns=txns,
            usual_amount=usual,
            night_share=stats.column("night_share_365d", rows),
            merchant_share=lookup(txns.merchant, priors.merchant_users, 0.0),
            channel_share=channel,
            daily_usual=np.nan_to_num(stats.column("debit_count_365d", rows)) / 365.0,
            context=context,
            features=features,
        )

    def feature(self, i: int, name: str) -> float:
        """Feature ``name`` of transaction ``i``."""
        return float(self.features[i, FEATURES.index(name)])


def explain(details: Details, pushes: np.ndarray, i: int, limit: int) -> list[str]:
    """Up to ``limit`` sentences for transaction ``i``, the strongest push first."""
    order = np.argsort(-pushes[i], kind="stable")
    names = list(GROUPS)
    out: list[str] = []
    for g in order:
        if pushes[i, g] < _MIN_PUSH or len(out) >= limit:
            break
        sentence = _SENTENCES[names[g]](details, i)
        if sentence:
            out.append(sentence)
    return out


def _amount(d: Details, i: int) -> str:
    amount, usual, category = d.txns.amount[i], d.usual_amount[i], d.txns.category[i]
    if np.isfinite(usual) and usual > 0 and amount >= 1.5 * usual:
        return (
            f"amount {amount:,.2f} is {amount / usual:.1f}x this user's usual for {category} ({usual:,.2f})"
        )
    if d.feature(i, "amount_over_p99") > 0:
        return f"amount {amount:,.2f} is above 99% of this user's debits"
    return f"amount {amount:,.2f} is unusual for {category} for this user"


def _hour(d: Details, i: int) -> str:
    share = d.night_share[i]
    usual = f"{share:.0%} of their debits are at night" if np.isfinite(share) else "no history"
    return f"at {int(d.txns.hour[i]):02d}:00, an hour this user rarely transacts ({usual})"


def _merchant(d: Details, i: int) -> str:
    merchant, share = d.txns.merchant[i], d.merchant_share[i]
    rare = f"a merchant {share:.1%} of users pay" if share > 0 else "a merchant no user paid before"
    if d.feature(i, "new_merchant") > 0:
        return f"first payment to {merchant}, {rare}"
    return f"{merchant} is {rare}"


def _channel(d: Details, i: int) -> str:
    share = d.channel_share[i]
    used = f"{share:.0%}" if np.isfinite(share) else "none"
    return f"paid by {d.txns.channel[i]}, which this user uses for {used} of debits"


def _velocity(d: Details, i: int) -> str:
    count, same = int(d.context["count_1h"][i]), int(d.context["same_merchant_1h"][i])
    gap = float(d.context["seconds_since_previous"][i])
    if count == 0:  # the push came from quiet: nothing worth saying
        return ""
    at = f", {same} at {d.txns.merchant[i]}" if same else ""
    return f"{count + 1} debits within an hour{at}, the last {_ago(gap)}"


def _daily(d: Details, i: int) -> str:
    count = int(d.context["count_24h"][i]) + 1
    usual = d.daily_usual[i]
    if usual > 0:
        return f"{count} debits in 24 hours, {count / usual:.1f}x this user's daily usual ({usual:.1f})"
    return f"{count} debits in 24 hours"


def _duplicate(d: Details, i: int) -> str:
    seconds = float(d.context["duplicate_seconds"][i])
    if not np.isfinite(seconds):
        return ""
    return f"same amount at {d.txns.merchant[i]} {_ago(seconds)}: a possible duplicate charge"


def _ago(seconds: float) -> str:
    """How long before, in words: "at the same time", "45 s before", "12 min before"."""
    if seconds <= 0:
        return "at the same time"
    if seconds < 120:
        return f"{seconds:.0f} s before"
    return f"{seconds / 60:.0f} min before"


_SENTENCES: dict[str, Callable[[Details, int], str]] = {
    "amount": _amount,
    "hour": _hour,
    "merchant": _merchant,
    "channel": _channel,
    "velocity": _velocity,
    "daily_volume": _daily,
    "duplicate": _duplicate,
}
