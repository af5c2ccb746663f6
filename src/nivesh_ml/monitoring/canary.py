"""Canary to promotion without a person: the challenger is promoted or rolled back by a stated rule.

A challenger that passed the gate takes ``NIVESH_CANARY_TRAFFIC_PERCENTAGE`` of the traffic
(``tracking.mirror``). Once both sides have ``NIVESH_CANARY_MIN_FEEDBACK`` predictions with an
outcome made since the canary began (so they are compared on the same days), each prediction gets
a loss from its outcome, the model's own notion of being wrong:

=============  =====================================================
model          loss of one prediction
=============  =====================================================
intent         1 if the intent was wrong, else 0
ner            1 - F1 of its entities (exact span and label)
spending       absolute error / actual, over the points it forecast
anomaly        1 if the flag was wrong, else 0
credit-risk    Brier score, (PD - defaulted)²
assistant      1 if the tool was wrong, else 0
=============  =====================================================

**The rule.** A one-sided Welch t-test of "the challenger's mean loss is greater than the
champion's" at ``NIVESH_CANARY_ALPHA`` (0.05): significant, the challenger is rolled back; not
significant, it is promoted. The challenger already beat the champion offline on the newest
held-out period, so the burden is on the live data to show it is worse. With at least 200
outcomes a side the means are close to normal, which the test assumes. Identical losses on both
sides (no variance) compare the means directly.

Both outcomes move the registry (``champion`` alias, or the ``challenger`` alias removed and the
version tagged rolled back), mirror the deployment rows (the canary row becomes ``rolled_back``
or the new ``production`` row), tag the version with the decision, and add a
``canary_decision`` row with the counts, mean losses and p-value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from scipy import stats
from sqlalchemy import select

from nivesh_ml.config import Settings
from nivesh_ml.db import ModelDeployment, ModelRegistry, repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.log import get_logger
from nivesh_ml.monitoring.quality import SCORERS, Pair, feedback_rows
from nivesh_ml.tracking.registry import conclude_canary, current_aliases
from nivesh_ml.tracking.store import MODEL_KEYS, registered_name

__all__ = ["LOSSES", "CanaryVerdict", "decide_all", "decide_canary", "welch_worse"]

log = get_logger(__name__)


def _wrong(pair: Pair) -> float:
    return float(pair[0] != pair[1])


def _entity_loss(pair: Pair) -> float:
    predicted, truth = {tuple(span) for span in pair[0]}, {tuple(span) for span in pair[1]}
    if not predicted and not truth:
        return 0.0
    return 1.0 - 2 * len(predicted & truth) / (len(predicted) + len(truth))


def _relative_error(pair: Pair) -> float:
    forecast, actual = pair
    total = sum(abs(a) for a in actual)
    errors = sum(abs(a - f) for f, a in zip(forecast, actual, strict=True))
    return errors / total if total else float(errors > 0)


def _brier(pair: Pair) -> float:
    return (float(pair[0]) - float(pair[1])) ** 2


# (the name of the loss, the loss of one scored (predicted, actual) pair from quality.SCORERS)
LOSSES: dict[str, tuple[str, Any]] = {
    "intent": ("error", _wrong),
    "ner": ("1-f1", _entity_loss),
    "spending": ("relative_error", _relative_error),
    "anomaly": ("error", _wrong),
    "credit-risk": ("brier", _brier),
    "assistant": ("tool_error", _wrong),
}
assert tuple(LOSSES) == MODEL_KEYS  # nosec B101  # import-time consistency check


@dataclass(frozen=True)
class CanaryVerdict:
    """One model's canary now: ``waiting`` (too few outcomes), ``promoted``, ``rolled_back`` or ``none``."""

    model: str
    status: str
    reason: str
    champion: str | None = None
    challenger: str | None = None
    champion_n: int = 0
    challenger_n: int = 0
    champion_loss: float | None = None
    challenger_loss: float | None = None
    p_value: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for ``--json`` and the simulation report)."""
        return asdict(self)


def welch_worse(champion: Sequence[float], challenger: Sequence[float]) -> float:
    """p-value of "the challenger's mean loss is greater than the champion's" (one-sided Welch t-test)."""
    if len(champion) < 2 or len(challenger) < 2:
        raise ValueError("the test needs at least two losses on each side")
    with warnings.catch_warnings():  # identical losses on a side: scipy warns of precision loss
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(challenger, champion, equal_var=False, alternative="greater")
    p_value = float(result.pvalue)
    if math.isnan(p_value):  # no variance on either side: the means are the whole story
        mean_challenger = sum(challenger) / len(challenger)
        mean_champion = sum(champion) / len(champion)
        return 0.0 if mean_challenger > mean_champion else 1.0
    return p_value


def _losses(model: str, rows: Sequence[Any], version: str) -> list[float]:
    scorer, (_, loss) = SCORERS[model], LOSSES[model]
    out: list[float] = []
    for row in rows:
        if str(row.version) != version:
            continue
        prediction = row.prediction if isinstance(row.prediction, Mapping) else {}
        pair = scorer.pair(prediction, row.actual_outcome)
        if pair is not None:
            out.append(float(loss(pair)))
    return out


def _canary_since(settings: Settings, model: str, challenger: str) -> datetime | None:
    """When the challenger's active canary deployment began (None: no canary, e.g. shadow only)."""
    query = (
        select(ModelDeployment.deployed_at)
        .join(ModelRegistry)
        .where(
            ModelRegistry.model_name == registered_name(model),
            ModelRegistry.version == challenger,
            ModelDeployment.status == "active",
            ModelDeployment.environment == "canary",
            ModelDeployment.traffic_percentage > 0,
        )
    )
    with session_scope(app_engine(settings)) as session:
        return session.scalars(query).first()


def decide_canary(settings: Settings, model: str, *, now: datetime | None = None) -> CanaryVerdict:
    """Decide ``model``'s running canary if it has enough outcomes; act on the decision and record it."""
    now = now or datetime.now(UTC)
    aliases = current_aliases(settings, model)
    champion, challenger = aliases.get("champion"), aliases.get("challenger")
    if champion is None or challenger is None:
        return CanaryVerdict(model, "none", f"{model}: no challenger beside a champion", champion, challenger)
    since = _canary_since(settings, model, challenger)
    if since is None:
        reason = f"{model}: challenger v{challenger} takes no canary traffic (shadow only): nothing to decide"
        return CanaryVerdict(model, "none", reason, champion, challenger)
    rows = feedback_rows(settings, [model], since, now)
    base, new = _losses(model, rows, champion), _losses(model, rows, challenger)
    counts = {"champion_n": len(base), "challenger_n": len(new)}
    need = settings.canary_min_feedback
    if min(len(base), len(new)) < need:
        reason = (
            f"{model}: waiting for outcomes since the canary began ({len(new)} for challenger v{challenger}, "
            f"{len(base)} for champion v{champion}; {need} each needed)"
        )
        return CanaryVerdict(model, "waiting", reason, champion, challenger, **counts)
    p_value = welch_worse(base, new)
    means = {"champion_loss": sum(base) / len(base), "challenger_loss": sum(new) / len(new)}
    loss_name = LOSSES[model][0]
    compared = (
        f"mean {loss_name} {means['challenger_loss']:.4f} (v{challenger}, n={len(new)}) vs "
        f"{means['champion_loss']:.4f} (v{champion}, n={len(base)}), p={p_value:.4f}"
    )
    worse = p_value < settings.canary_alpha
    status = "rolled_back" if worse else "promoted"
    verdict_text = "worse" if worse else "not worse"
    reason = f"{model}: challenger {verdict_text} at alpha {settings.canary_alpha}: {compared}"
    conclude_canary(settings, model, challenger, promote=not worse, reason=reason, p_value=p_value)
    with session_scope(app_engine(settings)) as session:
        repository.record_canary_decision(
            session,
            model_key=model,
            model_name=registered_name(model),
            champion_version=champion,
            challenger_version=challenger,
            outcome=status,
            reason=reason[:1024],
            loss=loss_name,
            p_value=p_value,
            canary_since=since,
            decided_at=now,
            **counts,
            **means,
        )
    log.info("canary decided", extra={"model": model, "outcome": status, "p_value": p_value})
    return CanaryVerdict(
        model,
        status,
        reason,
        champion,
        challenger,
        champion_n=len(base),
        challenger_n=len(new),
        champion_loss=means["champion_loss"],
        challenger_loss=means["challenger_loss"],
        p_value=p_value,
    )


def decide_all(settings: Settings, *, now: datetime | None = None) -> list[CanaryVerdict]:
    """:func:`decide_canary` for every model (a model with no registry entry yet has no canary)."""
    verdicts = []
    for model in MODEL_KEYS:
        try:
            verdicts.append(decide_canary(settings, model, now=now))
        except Exception as error:  # one model's failure must not stop the others' decisions
            log.exception("canary decision failed", extra={"model": model})
            verdicts.append(CanaryVerdict(model, "failed", f"{model}: {error}"))
    return verdicts
