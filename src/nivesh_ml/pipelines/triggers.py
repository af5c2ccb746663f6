"""Why a model should be retrained now: drift, outcomes it did not expect, live quality below its
bar, or its age.

:func:`retrain_triggers` reads what the platform already records (the newest drift check in the
app DB, live quality from ``/feedback`` outcomes, the champion's registration time) and returns
the reasons, most urgent first; an empty list means "leave it". The retraining pipeline records
the trigger it ran for on the training run (``nivesh.trigger``, ``nivesh.trigger.reason``).

- **drift**: the champion's newest ``NIVESH_DRIFT_CONSECUTIVE_CHECKS`` (2) drift checks all say the
  data set drifted (:func:`drift_alarm`).
- **outcomes**: more positive outcomes arrived than the champion expected, beyond chance
  (:func:`outcome_alarm`): defaults against the sum of the probabilities of default it gave
  (credit risk), confirmed fraud against the fraud rate of its training data (anomaly). This is
  what a change of the world shows first when its inputs hardly move: salaries that stop raise
  defaults before a 3- to 12-month profile feature shifts, and a fraud wave is a few rows a day
  among ordinary debits.
- **quality**: the champion's live value of its gate metric (``NIVESH_QUALITY_BARS``) over the
  last ``quality_window`` fails the bar, with at least ``NIVESH_CANARY_MIN_FEEDBACK`` outcomes
  (fewer say nothing), and fails it in at least 95% of 200 bootstrap resamples of those outcomes:
  an AUC over a few hundred outcomes with a handful of defaults moves by 0.05 by chance, and a
  retrain for every unlucky week is noise, not learning. The assistant's gate metric
  (perplexity) has no live counterpart.
- **schedule**: the champion was registered more than ``max_age`` ago.

No trigger fires while a challenger is on its canary: live quality decides that one first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from scipy.stats import poisson

from nivesh_ml.config import QualityBar, Settings
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.monitoring.quality import SCORERS, Pair, feedback_rows
from nivesh_ml.tracking.registry import current_aliases
from nivesh_ml.tracking.store import client, registered_name

__all__ = ["Trigger", "drift_alarm", "outcome_alarm", "retrain_triggers"]

Trigger = dict[str, str]  # {"kind": "drift" | "outcomes" | "quality" | "schedule", "reason": "..."}

BOOTSTRAP = 200  # resamples of the outcomes behind a quality alarm
QUALITY_CONFIDENCE = 0.95  # the share of them that must fail the bar


def retrain_triggers(
    settings: Settings,
    model: str,
    *,
    now: datetime | None = None,
    quality_window: timedelta = timedelta(days=7),
    max_age: timedelta | None = None,
) -> list[Trigger]:
    """The reasons to retrain ``model`` now (none when it has no champion or a canary is running)."""
    now = now or datetime.now(UTC)
    aliases = current_aliases(settings, model)
    champion = aliases.get("champion")
    if champion is None or "challenger" in aliases:
        return []
    found: list[Trigger] = []
    drift = drift_alarm(settings, model, champion)
    if drift:
        found.append({"kind": "drift", "reason": drift})
    rows = _champion_rows(settings, model, champion, now, quality_window)
    pairs = _pairs(model, rows)
    outcomes = outcome_alarm(settings, model, champion, _pairs(model, _newest_per_user(model, rows)))
    if outcomes:
        found.append({"kind": "outcomes", "reason": outcomes})
    quality = _quality(settings, model, champion, pairs)
    if quality:
        found.append({"kind": "quality", "reason": quality})
    if max_age is not None:
        age = now - _registered_at(settings, model, champion)
        if age > max_age:
            reason = f"{model}: champion v{champion} is {age.days} days old"
            found.append({"kind": "schedule", "reason": reason})
    return found


def drift_alarm(settings: Settings, model: str, champion: str) -> str | None:
    """Why ``model``'s champion is drifting, or None: its newest ``NIVESH_DRIFT_CONSECUTIVE_CHECKS``
    drift checks (2) all drifted. One drifted day alone is not an alarm: a day of traffic carries
    calendar effects (the month's first day brings rent, EMIs and bills) that a check rightly sees
    as different from the training reference, and they are gone the next day; a change of the
    world stays."""
    need = settings.drift_consecutive_checks
    with session_scope(app_engine(settings)) as session:
        rows = repository.recent_drift_checks(session, model, need)
        checks = [(row.version, row.dataset_drift, row.drift_share, dict(row.columns)) for row in rows]
    if len(checks) < need or any(version != champion or not drifted for version, drifted, _, _ in checks):
        return None
    _, _, share, columns = checks[0]
    drifted = sorted(name for name, column in columns.items() if column.get("drifted"))
    in_a_row = f"{need} checks in a row" if need > 1 else "the last check"
    return (
        f"{model}: drift on v{champion} in {in_a_row}, {share:.0%} of columns now ({', '.join(drifted[:5])})"
    )


def _champion_rows(
    settings: Settings, model: str, champion: str, now: datetime, window: timedelta
) -> list[Any]:
    """The champion's predictions in the last ``window`` that have an outcome, oldest first."""
    return [
        row for row in feedback_rows(settings, [model], now - window, now) if str(row.version) == champion
    ]


def _pairs(model: str, rows: Sequence[Any]) -> list[Pair]:
    scorer = SCORERS[model]
    return [pair for row in rows if (pair := scorer.pair(_mapping(row.prediction), row.actual_outcome))]


def _newest_per_user(model: str, rows: Sequence[Any]) -> list[Any]:
    """For a model whose outcome belongs to the user (:data:`USER_OUTCOMES`), each user's newest
    scored outcome only: the scores of a user made within one default horizon share their outcome
    (one 90-DPD event answers all of them), and counting them once per score would make the same
    evidence look stronger than it is."""
    if model not in USER_OUTCOMES:
        return list(rows)
    seen: set[Any] = set()
    kept = []
    for row in reversed(rows):  # newest first: a user's newest outcome is the one kept, where it stands
        if (key := row.user_id or row.id) not in seen:
            seen.add(key)
            kept.append(row)
    return kept[::-1]


USER_OUTCOMES: frozenset[str] = frozenset({"credit-risk"})  # one outcome per user, however often scored


def outcome_alarm(settings: Settings, model: str, champion: str, pairs: Sequence[Pair]) -> str | None:
    """Why ``pairs`` (the champion's recent outcomes, oldest first) hold more positives than it
    expected, or None.

    The count of positives is compared with its expectation under the champion's own view of the
    world (:data:`EXPECTED`) by a one-sided Poisson test: for a sum of Bernoulli outcomes the
    Poisson tail of the same mean is the wider one, so the test errs on the side of no alarm. A
    change of the world is recent, and diluted in a week of outcomes it shows late, so the test is
    made on the newest outcomes, the newest half, quarter ... (down to :data:`MIN_SCAN`), and the
    smallest p-value times the number of tests (Bonferroni) must be under ``NIVESH_OUTCOME_ALPHA``.
    Models with no expectation (or no outcomes yet) say nothing."""
    expect = EXPECTED.get(model)
    if expect is None or not pairs:
        return None
    rates = expect(settings, model, champion, pairs)
    if rates is None:
        return None
    actual = np.array([int(truth) for _, truth in pairs], dtype=np.int64)
    sizes = _scan_sizes(len(pairs))
    tests = []
    for size in sizes:
        expected, observed = float(rates[-size:].sum()), int(actual[-size:].sum())
        if expected > 0:
            tests.append((float(poisson.sf(observed - 1, expected)) * len(sizes), size, observed, expected))
    if not tests:
        return None
    p_value, size, observed, expected = min(tests)
    if p_value >= settings.outcome_alpha:
        return None
    return (
        f"{model}: {observed} {POSITIVE[model]} among the newest {size} outcomes of v{champion}, "
        f"{expected:.1f} expected (one-sided Poisson p = {p_value:.2g} < {settings.outcome_alpha}, "
        f"Bonferroni over {len(sizes)} windows)"
    )


MIN_SCAN = 50  # the fewest newest outcomes the outcomes trigger tests alone


def _scan_sizes(count: int) -> list[int]:
    """All ``count`` outcomes, then the newest half, quarter ... while at least :data:`MIN_SCAN`."""
    sizes = [count]
    while sizes[-1] // 2 >= MIN_SCAN:
        sizes.append(sizes[-1] // 2)
    return sizes


def _credit_expected(
    settings: Settings, model: str, champion: str, pairs: Sequence[Pair]
) -> np.ndarray | None:
    """A calibrated model expects each user to default with the probability it gave."""
    return np.array([float(probability) for probability, _ in pairs])


def _anomaly_expected(
    settings: Settings, model: str, champion: str, pairs: Sequence[Pair]
) -> np.ndarray | None:
    """Each debit is fraud at the rate of the champion's held-out test debits."""
    metrics = _run_metrics(settings, model, champion)
    debits, anomalies = metrics.get("transactions"), metrics.get("anomalies")
    if not debits or anomalies is None:
        return None
    return np.full(len(pairs), float(anomalies) / float(debits))


Expectation = Callable[[Settings, str, str, Sequence[Pair]], np.ndarray | None]
EXPECTED: dict[str, Expectation] = {"credit-risk": _credit_expected, "anomaly": _anomaly_expected}
POSITIVE: dict[str, str] = {"credit-risk": "defaults", "anomaly": "confirmed frauds"}


def _run_metrics(settings: Settings, model: str, version: str) -> dict[str, float]:
    mlflow = client(settings)
    run_id = mlflow.get_model_version(registered_name(model), version).run_id
    return dict(mlflow.get_run(run_id).data.metrics) if run_id else {}


def _quality(settings: Settings, model: str, champion: str, pairs: Sequence[Pair]) -> str | None:
    bar = settings.quality_bars[model]
    scorer = SCORERS[model]
    if len(pairs) < settings.canary_min_feedback:
        return None
    value = scorer.score(pairs).get(bar.metric)
    if value is None or bar.passes(float(value)):
        return None
    share = _share_failing(scorer.score, pairs, bar)
    if share < QUALITY_CONFIDENCE:  # one bad sample of outcomes is not a trend
        return None
    return (
        f"{model}: live {bar.metric} {float(value):.4f} of v{champion} over {len(pairs)} outcomes "
        f"fails the bar {bar.threshold} (in {share:.0%} of {BOOTSTRAP} bootstrap resamples)"
    )


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _share_failing(
    score: Callable[[Sequence[Pair]], dict[str, float]], pairs: Sequence[Pair], bar: QualityBar
) -> float:
    """The share of bootstrap resamples of ``pairs`` whose metric fails ``bar`` (seeded)."""
    rng = np.random.default_rng(0)
    failing = 0
    for _ in range(BOOTSTRAP):
        sample = [pairs[i] for i in rng.integers(0, len(pairs), len(pairs))]
        value = score(sample).get(bar.metric)
        failing += value is not None and not bar.passes(float(value))
    return failing / BOOTSTRAP


def _registered_at(settings: Settings, model: str, version: str) -> datetime:
    created = client(settings).get_model_version(registered_name(model), version).creation_timestamp
    return datetime.fromtimestamp(created / 1000, UTC)
