"""The model registry: aliases ``champion`` and ``challenger``, the gate, promote, rollback, list.

MLflow holds the truth (aliases on registered versions; stages are deprecated there). Each
version carries its evaluation as tags (``nivesh.eval.metric``, ``.score``, ``.dataset`` = the
evaluation data's content hash), and each registered model the list of its champions in order
(``nivesh.champion_history``), so ``rollback`` knows where to go back to. Every alias move is
mirrored into the app DB in one transaction: ``model_registry.status`` (production for the
champion, archived for former champions, staging otherwise) and ``model_deployment`` rows (the
champion's main traffic, the challenger's canary share, or a shadow deployment at 0%).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from nivesh_ml.config import Settings
from nivesh_ml.errors import ModelNotFoundError, PromotionRefused
from nivesh_ml.log import get_logger
from nivesh_ml.tracking.gate import GateDecision, decide
from nivesh_ml.tracking.mirror import mirror_aliases
from nivesh_ml.tracking.store import MODEL_KEYS, client, registered_name

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "apply_gate",
    "champion_history",
    "conclude_canary",
    "current_aliases",
    "list_models",
    "promote",
    "record_evaluation",
    "rollback",
]

log = get_logger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"
TAG_EVAL = "nivesh.eval."
TAG_GATE = "nivesh.gate."
TAG_HISTORY = "nivesh.champion_history"
TAG_CANARY = "nivesh.canary."


def record_evaluation(
    settings: Settings, model: str, version: str, metrics: Mapping[str, float], dataset_hash: str
) -> None:
    """Store a version's score on its model's gate metric, and the hash of the data it was scored on."""
    bar = settings.quality_bars[model]
    mlflow_client, name = client(settings), registered_name(model)
    for key, value in {
        "metric": bar.metric,
        "score": repr(float(metrics[bar.metric])),
        "dataset": dataset_hash,
    }.items():
        mlflow_client.set_model_version_tag(name, version, TAG_EVAL + key, value)


def apply_gate(
    settings: Settings,
    model: str,
    version: str,
    metrics: Mapping[str, float],
    dataset_hash: str,
    champion_metrics: Mapping[str, float] | None = None,
) -> GateDecision:
    """Score ``version`` against its bar and the champion, move aliases accordingly, mirror, log.

    ``champion_metrics`` are the champion's scores on the same evaluation data; without them the
    champion's stored score is used only if it was measured on data with the same hash.
    """
    record_evaluation(settings, model, version, metrics, dataset_hash)
    mlflow_client, name = client(settings), registered_name(model)
    bar = settings.quality_bars[model]
    champion = _alias_version(mlflow_client, name, CHAMPION)
    champion_score = _comparable_score(mlflow_client, champion, bar.metric, dataset_hash, champion_metrics)
    decision = decide(bar, float(metrics[bar.metric]), champion_score, settings.gate_tolerance)
    if champion is not None and champion_score is None and decision.champion:
        decision = _not_comparable(decision, str(champion.version))
    if champion is not None and decision.champion and _canary_first(settings):
        decision = _canary_first_decision(decision)
    _record_decision(mlflow_client, name, version, decision)
    if decision.champion:
        _make_champion(mlflow_client, name, version)
    elif decision.challenger:
        mlflow_client.set_registered_model_alias(name, CHALLENGER, version)
    mirror_aliases(settings, model)
    log.info("promotion gate", extra={"model": name, "version": version, "outcome": decision.outcome})
    return decision


def _comparable_score(
    mlflow_client: MlflowClient,
    champion: ModelVersion | None,
    metric: str,
    dataset_hash: str,
    champion_metrics: Mapping[str, float] | None,
) -> float | None:
    if champion is None:
        return None
    if champion_metrics is not None:
        return float(champion_metrics[metric])
    tags = champion.tags or {}
    if tags.get(TAG_EVAL + "dataset") == dataset_hash and tags.get(TAG_EVAL + "metric") == metric:
        return float(tags[TAG_EVAL + "score"])
    return None


def _not_comparable(decision: GateDecision, champion_version: str) -> GateDecision:
    reason = (
        f"clears the bar, but champion v{champion_version} was scored on other evaluation data: "
        "challenger only (re-evaluate the champion, or `nivesh-ml models promote --force`)"
    )
    return GateDecision(decision.metric, decision.candidate_score, None, True, False, reason)


def _canary_first(settings: Settings) -> bool:
    return settings.promote_via_canary and settings.canary_traffic_percentage > 0


def _canary_first_decision(decision: GateDecision) -> GateDecision:
    reason = f"{decision.reason}; challenger first: live quality on the canary decides (monitoring.canary)"
    scores = (decision.candidate_score, decision.champion_score)
    return GateDecision(decision.metric, *scores, True, False, reason)


def _record_decision(mlflow_client: MlflowClient, name: str, version: str, decision: GateDecision) -> None:
    tags = {
        "outcome": decision.outcome,
        "reason": decision.reason,
        "candidate_score": repr(decision.candidate_score),
        "champion_score": "" if decision.champion_score is None else repr(decision.champion_score),
    }
    for key, value in tags.items():
        mlflow_client.set_model_version_tag(name, version, TAG_GATE + key, value)
    run_id = mlflow_client.get_model_version(name, version).run_id
    if run_id:
        for key, value in tags.items():
            mlflow_client.set_tag(run_id, TAG_GATE + key, value)
        mlflow_client.log_metric(run_id, "gate_candidate_score", decision.candidate_score)
        if decision.champion_score is not None:
            mlflow_client.log_metric(run_id, "gate_champion_score", decision.champion_score)


def promote(settings: Settings, model: str, version: str, *, force: bool = False) -> str:
    """Make ``version`` champion by hand; without ``force`` it must clear the bar and not lose."""
    mlflow_client, name = client(settings), registered_name(model)
    candidate = _get_version(mlflow_client, name, version)
    if not force:
        _check_manual_promotion(settings, model, mlflow_client, name, candidate)
    _make_champion(mlflow_client, name, version)
    mirror_aliases(settings, model)
    return f"{name} v{version} is champion" + (" (forced)" if force else "")


def _check_manual_promotion(
    settings: Settings, model: str, mlflow_client: MlflowClient, name: str, candidate: ModelVersion
) -> None:
    tags, bar = candidate.tags or {}, settings.quality_bars[model]
    if tags.get(TAG_EVAL + "metric") != bar.metric:
        raise PromotionRefused(f"{name} v{candidate.version} has no {bar.metric} on record; use --force")
    champion = _alias_version(mlflow_client, name, CHAMPION)
    champion_score = _comparable_score(mlflow_client, champion, bar.metric, tags[TAG_EVAL + "dataset"], None)
    decision = decide(bar, float(tags[TAG_EVAL + "score"]), champion_score, settings.gate_tolerance)
    if champion is not None and champion_score is None:
        raise PromotionRefused(
            f"{name} v{candidate.version} and champion v{champion.version} were scored on different data; "
            "re-evaluate, or use --force"
        )
    if not decision.champion:
        raise PromotionRefused(f"{name} v{candidate.version} {decision.reason}; use --force to override")


def rollback(settings: Settings, model: str) -> str:
    """Move ``champion`` back to the previous champion."""
    mlflow_client, name = client(settings), registered_name(model)
    history = champion_history(mlflow_client, name)
    if len(history) < 2:
        raise PromotionRefused(f"{name} has no previous champion to roll back to")
    current, previous = history[-1], history[-2]
    mlflow_client.set_registered_model_alias(name, CHAMPION, previous)
    mlflow_client.set_model_version_tag(name, current, "nivesh.rolled_back", "true")
    mlflow_client.set_registered_model_tag(name, TAG_HISTORY, ",".join(history[:-1]))
    mirror_aliases(settings, model, rolled_back=current)
    return f"{name}: champion rolled back from v{current} to v{previous}"


def conclude_canary(
    settings: Settings, model: str, version: str, *, promote: bool, reason: str, p_value: float
) -> None:
    """End ``version``'s canary: make it champion, or take its ``challenger`` alias away and tag it
    rolled back; tag the decision on the version and mirror the deployment rows."""
    mlflow_client, name = client(settings), registered_name(model)
    outcome = "promoted" if promote else "rolled_back"
    for key, value in {"outcome": outcome, "reason": reason[:5000], "p_value": repr(p_value)}.items():
        mlflow_client.set_model_version_tag(name, version, TAG_CANARY + key, value)
    if promote:
        _make_champion(mlflow_client, name, version)
        mirror_aliases(settings, model)
    else:
        mlflow_client.delete_registered_model_alias(name, CHALLENGER)
        mlflow_client.set_model_version_tag(name, version, "nivesh.rolled_back", "true")
        mirror_aliases(settings, model, rolled_back=version)
    log.info("canary concluded", extra={"model": name, "version": version, "outcome": outcome})


def current_aliases(settings: Settings, model: str) -> dict[str, str]:
    """The versions ``champion`` and ``challenger`` point at now (an alias not set is left out)."""
    mlflow_client, name = client(settings), registered_name(model)
    holders = {alias: _alias_version(mlflow_client, name, alias) for alias in (CHAMPION, CHALLENGER)}
    return {alias: str(mv.version) for alias, mv in holders.items() if mv is not None}


def champion_history(mlflow_client: MlflowClient, name: str) -> list[str]:
    """The versions that have been champion, oldest first; the last is the current one."""
    tags = mlflow_client.get_registered_model(name).tags or {}
    return [v for v in tags.get(TAG_HISTORY, "").split(",") if v]


def _make_champion(mlflow_client: MlflowClient, name: str, version: str) -> None:
    history = [v for v in champion_history(mlflow_client, name) if v != version] + [version]
    mlflow_client.set_registered_model_alias(name, CHAMPION, version)
    mlflow_client.set_registered_model_tag(name, TAG_HISTORY, ",".join(history))
    challenger = _alias_version(mlflow_client, name, CHALLENGER)
    if challenger is not None and str(challenger.version) == version:
        mlflow_client.delete_registered_model_alias(name, CHALLENGER)


def _alias_version(mlflow_client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return mlflow_client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _get_version(mlflow_client: MlflowClient, name: str, version: str) -> ModelVersion:
    try:
        return mlflow_client.get_model_version(name, version)
    except MlflowException:
        raise ModelNotFoundError(f"{name} has no version {version!r}; see `nivesh-ml models list`") from None


def list_models(settings: Settings) -> list[dict[str, Any]]:
    """One row per registered version of every nivesh model, newest first within a model."""
    mlflow_client = client(settings)
    rows: list[dict[str, Any]] = []
    for model in MODEL_KEYS:
        name = registered_name(model)
        versions = mlflow_client.search_model_versions(f"name = '{name}'")
        if not versions:
            continue
        # search results carry no aliases: ask for each alias once
        holders = {alias: _alias_version(mlflow_client, name, alias) for alias in (CHAMPION, CHALLENGER)}
        aliases = {alias: str(mv.version) for alias, mv in holders.items() if mv is not None}
        for mv in sorted(versions, key=lambda v: int(v.version), reverse=True):
            held = sorted(alias for alias, version in aliases.items() if version == str(mv.version))
            rows.append({"model": model, **_row(mlflow_client, name, mv, held)})
    return rows


def _row(mlflow_client: MlflowClient, name: str, mv: ModelVersion, aliases: list[str]) -> dict[str, Any]:
    tags = mv.tags or {}
    run_tags = mlflow_client.get_run(mv.run_id).data.tags if mv.run_id else {}
    metric = tags.get(TAG_EVAL + "metric", "")
    score = tags.get(TAG_EVAL + "score", "")
    return {
        "name": name,
        "version": str(mv.version),
        "aliases": ",".join(aliases),
        "metric": f"{metric} {float(score):.4f}" if metric and score else "",
        "dataset": run_tags.get("nivesh.dataset.training", "")[:12],
        "created": datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC).strftime("%Y-%m-%d %H:%M"),
    }
