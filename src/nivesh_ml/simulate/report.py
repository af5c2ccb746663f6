"""The simulation's report: an HTML page with four plots and a JSON summary of what a reviewer checks.

Plots (matplotlib, embedded as PNG so the page is one self-contained file): drift share per
model per day with each model's alarm threshold and the scenario's start; live quality per model version over
the outcomes that arrived each day; the challenger's share of each model's traffic; and which
version was champion each day, with promotions and rollbacks marked.

The summary (:func:`summarise`) answers: when did drift first show after the scenario began, was
a retrain triggered and on a new data version, was the challenger canaried, how was it decided,
was any answered prediction missing from the log, did any feature view expire.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # the backend must be chosen first

__all__ = ["PLOTS", "summarise", "write_report"]

PLOTS: tuple[str, ...] = ("drift", "quality", "traffic", "champions")
QUALITY_METRIC: dict[str, str] = {"credit-risk": "auc", "anomaly": "recall"}


def summarise(
    records: Sequence[Mapping[str, Any]], config: Mapping[str, Any], *, drift_thresholds: Mapping[str, float]
) -> dict[str, Any]:
    """What the simulation showed, model by model, in one JSON-ready dict."""
    start = int(config["scenario_start"]) if config.get("scenario") else None
    models: dict[str, Any] = {}
    for model in config["models"]:
        drifted = [r["day"] for r in records for d in r["drift"] if d["model"] == model and d["drifted"]]
        retrains = [dict(rt, day=r["day"]) for r in records for rt in r["retrains"] if rt["model"] == model]
        decisions = [dict(c, day=r["day"]) for r in records for c in r["canaries"] if c["model"] == model]
        decided = [c for c in decisions if c["status"] in ("promoted", "rolled_back")]
        canaried = any(r["traffic"].get(model, {}) and len(r["traffic"][model]) > 1 for r in records)
        # detection: the first drift alarm (persistent drift) or retrain trigger on or after the start
        alarmed = [r["day"] for r in records if model in r.get("alarms", {})]
        alarms = sorted(set(alarmed) | {rt["day"] for rt in retrains})
        after = [day for day in alarms if start is not None and day >= start]
        before = [day for day in alarms if start is None or day < start]
        models[model] = {
            "drift_days": drifted,
            "alarm_days": alarms,
            "false_alarms": len(before),
            "days_to_detection": (after[0] - start) if after and start is not None else None,
            "detected_by": _detected_by(retrains, after[0]) if after else None,
            "retrains": retrains,
            "retrain_on_new_data": any(rt["data_version"] != records[0]["data_version"] for rt in retrains),
            "canaried": canaried,
            "decisions": decided,
            "days_to_decision": (decided[0]["day"] - start) if decided and start is not None else None,
        }
    seen = {
        model: v["days_to_detection"] for model, v in models.items() if v["days_to_detection"] is not None
    }
    first = min(seen, key=lambda model: seen[model]) if seen else None
    answered = records[-1]["answered_total"] if records else 0
    logged = records[-1]["logged_total"] if records else 0
    return {
        "scenario": config.get("scenario"),
        "scenario_start": start,
        "days": len(records),
        "drift_thresholds": dict(drift_thresholds),
        "models": models,
        "detected_on": first,  # the model whose alarm came first
        "days_to_detection": seen[first] if first else None,
        "false_alarms": sum(v["false_alarms"] for v in models.values()),
        "promotions": sum(d["status"] == "promoted" for v in models.values() for d in v["decisions"]),
        "rollbacks": sum(d["status"] == "rolled_back" for v in models.values() for d in v["decisions"]),
        "predictions_answered": answered,
        "predictions_logged": logged,
        "predictions_lost": max(answered - logged, 0),
        "expired_views": sorted({view for r in records for view in r["expired_views"]}),
        "seconds_per_day": round(sum(r["seconds"] for r in records) / max(len(records), 1), 2),
    }


def _detected_by(retrains: Sequence[Mapping[str, Any]], day: int) -> str:
    kinds = [rt["trigger"]["kind"] for rt in retrains if rt["day"] == day]
    return kinds[0] if kinds else "drift"


def write_report(
    folder: Path,
    records: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    *,
    drift_thresholds: Mapping[str, float],
) -> tuple[Path, Path]:
    """Write ``report.html``, ``summary.json`` and ``plots/<name>.png`` into ``folder``; returns the
    first two's paths."""
    summary = summarise(records, config, drift_thresholds=drift_thresholds)
    summary_path = folder / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, default=str))
    figures = {
        "drift": _drift_plot(records, config, drift_thresholds),
        "quality": _quality_plot(records, config),
        "traffic": _traffic_plot(records, config),
        "champions": _champion_plot(records, config),
    }
    plots = folder / "plots"  # the same pictures as files, for docs and tickets
    plots.mkdir(exist_ok=True)
    for name, data in figures.items():
        (plots / f"{name}.png").write_bytes(base64.b64decode(data))
    html_path = folder / "report.html"
    html_path.write_text(_page(summary, figures))
    return html_path, summary_path


def _days(records: Sequence[Mapping[str, Any]]) -> list[int]:
    return [int(r["day"]) for r in records]


def _mark_start(axis: Any, config: Mapping[str, Any]) -> None:
    if config.get("scenario"):
        axis.axvline(
            int(config["scenario_start"]), color="grey", linestyle="--", label=f"{config['scenario']} starts"
        )


def _drift_plot(
    records: Sequence[Mapping[str, Any]], config: Mapping[str, Any], thresholds: Mapping[str, float]
) -> str:
    figure, axis = plt.subplots(figsize=(8, 3.2))
    for model in config["models"]:
        shares = []
        for record in records:
            found = [
                d["drift_share"]
                for d in record["drift"]
                if d["model"] == model and d["drift_share"] is not None
            ]
            shares.append(found[0] if found else float("nan"))
        line = axis.plot(_days(records), shares, marker="o", markersize=3, label=model)[0]
        axis.axhline(
            thresholds[model], color=line.get_color(), linestyle=":", linewidth=1, label=f"{model} alarm"
        )
        # a drifted check: the share reached the threshold, or the model's decisions drifted
        drifted = [(day, share) for day, share, record in zip(_days(records), shares, records, strict=True)
                   if any(d["model"] == model and d["drifted"] for d in record["drift"])]  # fmt: skip
        if drifted:
            days, values = [day for day, _ in drifted], [value for _, value in drifted]
            axis.scatter(
                days, values, marker="X", s=40, color=line.get_color(), label=f"{model} drifted check"
            )
    _mark_start(axis, config)
    axis.set(
        title="Drift: share of drifted columns (X: a drifted check)",
        xlabel="simulated day", ylabel="share", ylim=(0, 1.05),
    )  # fmt: skip
    return _png(figure, axis)


def _quality_plot(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> str:
    figure, axes = plt.subplots(1, len(config["models"]), figsize=(8, 3.2), squeeze=False)
    for axis, model in zip(axes[0], config["models"], strict=True):
        metric = QUALITY_METRIC.get(model, "")
        versions = sorted({v for r in records for v in r["quality"].get(model, {})}, key=int)
        for version in versions:
            values = [r["quality"].get(model, {}).get(version, {}).get(metric, float("nan")) for r in records]
            axis.plot(_days(records), values, marker="o", markersize=3, label=f"v{version}")
        _mark_start(axis, config)
        axis.set(title=f"{model}: live {metric}", xlabel="simulated day")
        if versions:
            axis.legend(fontsize=7)
    return _png(figure, None)


def _traffic_plot(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> str:
    figure, axis = plt.subplots(figsize=(8, 3.2))
    for model in config["models"]:
        shares = []
        for record in records:
            champion = record["aliases"].get(model, {}).get("champion")
            counts = record["traffic"].get(model, {})
            total = sum(counts.values())
            other = sum(n for version, n in counts.items() if version != champion)
            shares.append(100 * other / total if total else 0.0)
        axis.plot(_days(records), shares, marker="o", markersize=3, label=model)
    _mark_start(axis, config)
    axis.set(title="Challenger's share of traffic", xlabel="simulated day", ylabel="%", ylim=(0, 100))
    return _png(figure, axis)


def _champion_plot(records: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> str:
    figure, axis = plt.subplots(figsize=(8, 3.2))
    for offset, model in enumerate(config["models"]):
        champions = [int(r["aliases"].get(model, {}).get("champion", 0)) + 0.05 * offset for r in records]
        axis.step(_days(records), champions, where="post", label=model)
        for record in records:
            for decision in record["canaries"]:
                if decision["model"] == model and decision["status"] in ("promoted", "rolled_back"):
                    marker, colour = ("^", "green") if decision["status"] == "promoted" else ("v", "red")
                    axis.scatter(
                        record["day"], int(decision["challenger"]), marker=marker, color=colour, zorder=3
                    )
    _mark_start(axis, config)
    axis.set(title="Champion version (▲ promoted, ▼ rolled back)", xlabel="simulated day", ylabel="version")
    return _png(figure, axis)


def _png(figure: Any, axis: Any) -> str:
    if axis is not None:
        axis.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


# On load, the page lists the plots that decoded and drew (a browser test reads it from the DOM).
_RENDERED = (
    "<script>addEventListener('load', () => { document.body.dataset.rendered = [...document.images]"
    ".filter(i => i.complete && i.naturalWidth > 0).map(i => i.id).join(','); });</script>"
)


def _page(summary: Mapping[str, Any], figures: Mapping[str, str]) -> str:
    title = f"nivesh-ml simulation: {summary['scenario'] or 'quiet'}, {summary['days']} days"
    images = "\n".join(
        f'<h2>{html.escape(name)}</h2><img id="plot-{name}" alt="{name}" src="data:image/png;base64,{data}">'
        for name, data in figures.items()
    )
    body = html.escape(json.dumps(summary, indent=2, default=str))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"{_RENDERED}</head>"
        f"<body><h1>{html.escape(title)}</h1>{images}"
        f"<h2>summary</h2><pre id='summary'>{body}</pre></body></html>\n"
    )
