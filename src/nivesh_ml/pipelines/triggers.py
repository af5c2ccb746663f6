"""Why a model should be retrained now: drift, live quality below its bar, or its age.

:func:`retrain_triggers` reads what the platform already records (the newest drift check in the
app DB, live quality from ``/feedback`` outcomes, the champion's registration time) and returns
the reasons, most urgent first; an empty list means "leave it". The retraining pipeline records
the trigger it ran for on the training run (``nivesh.trigger``, ``nivesh.trigger.reason``).

- **drift**: the newest drift check of the champion says the data set drifted.
- **quality**: the champion's live value of its gate metric (``NIVESH_QUALITY_BARS``) over the
  last ``quality_window`` fails the bar, with at least ``NIVESH_CANARY_MIN_FEEDBACK`` outcomes
  (fewer say nothing). The assistant's gate metric (perplexity) has no live counterpart.
- **schedule**: the champion was registered more than ``max_age`` ago.

No trigger fires while a challenger is on its canary: live quality decides that one first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nivesh_ml.config import Settings
from nivesh_ml.db import repository, session_scope
from nivesh_ml.db.app import app_engine
from nivesh_ml.monitoring.quality import live_quality
from nivesh_ml.tracking.registry import current_aliases
from nivesh_ml.tracking.store import client, registered_name

__all__ = ["Trigger", "retrain_triggers"]

Trigger = dict[str, str]  # {"kind": "drift" | "quality" | "schedule", "reason": "..."}


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
    drift = _drift(settings, model, champion)
    if drift:
        found.append({"kind": "drift", "reason": drift})
    quality = _quality(settings, model, champion, now, quality_window)
    if quality:
        found.append({"kind": "quality", "reason": quality})
    if max_age is not None:
        age = now - _registered_at(settings, model, champion)
        if age > max_age:
            reason = f"{model}: champion v{champion} is {age.days} days old"
            found.append({"kind": "schedule", "reason": reason})
    return found


def _drift(settings: Settings, model: str, champion: str) -> str | None:
    with session_scope(app_engine(settings)) as session:
        latest = {row.model_key: row for row in repository.latest_drift_checks(session)}
    row = latest.get(model)
    if row is None or row.version != champion or not row.dataset_drift:
        return None
    drifted = sorted(name for name, column in dict(row.columns).items() if column.get("drifted"))
    return f"{model}: drift {row.drift_share:.0%} of columns on v{champion} ({', '.join(drifted[:5])})"


def _quality(settings: Settings, model: str, champion: str, now: datetime, window: timedelta) -> str | None:
    bar = settings.quality_bars[model]
    report = live_quality(settings, model, as_of=now, window=window)
    for version in report.versions:
        value: Any = version.metrics.get(bar.metric)
        scored = version.feedback - version.unusable
        if version.version != champion or value is None or scored < settings.canary_min_feedback:
            continue
        if not bar.passes(float(value)):
            return (
                f"{model}: live {bar.metric} {float(value):.4f} of v{champion} over {scored} outcomes "
                f"fails the bar {bar.threshold}"
            )
    return None


def _registered_at(settings: Settings, model: str, version: str) -> datetime:
    created = client(settings).get_model_version(registered_name(model), version).creation_timestamp
    return datetime.fromtimestamp(created / 1000, UTC)
