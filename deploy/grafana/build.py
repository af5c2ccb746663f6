"""Builds the Grafana dashboards in ``dashboards/`` (JSON, Grafana's dashboard model) from this file.

Run ``python deploy/grafana/build.py`` after editing a panel and commit both; ``--check`` exits 1
when the committed JSON differs from what this file builds (tests/deploy/test_grafana.py does the
same). Every expression uses only series the code exports: ``nivesh_http_*``, ``nivesh_predictions``,
``nivesh_model_*`` and the rest from ``nivesh_ml/serving/metrics.py``; ``nivesh_feature_store_*``
from ``nivesh_ml/features/online/_metrics.py``; ``nivesh_drift_share`` and
``nivesh_feature_drifted`` from ``nivesh_ml/monitoring/drift.py``; ``nivesh_live_quality`` and
``nivesh_live_feedback_count`` from ``nivesh_ml/monitoring/quality_metrics.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

Json = dict[str, Any]

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE: Json = {"type": "prometheus", "uid": "prometheus"}
RATE = "$__rate_interval"
MODEL = 'model=~"$model"'
QUANTILES = (0.5, 0.95, 0.99)


# --- panels ---------------------------------------------------------------------------------


def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> Json:
    """One Prometheus query of a panel (refIds are set by :func:`dashboard`)."""
    query: Json = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto"}
    if instant:
        query["instant"], query["range"] = True, False
    if table:
        query["format"] = "table"
    return query


def panel(
    kind: str, title: str, description: str, targets: list[Json], unit: str = "short", **extra: Any
) -> Json:
    """A panel of ``kind`` (timeseries, stat, table...); ids and positions are set by :func:`dashboard`."""
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        **extra,
    }


def timeseries(title: str, description: str, targets: list[Json], unit: str = "short") -> Json:
    """A time-series panel with the legend as a table (last and max values)."""
    legend = {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]}
    return panel(
        "timeseries",
        title,
        description,
        targets,
        unit,
        options={"legend": legend, "tooltip": {"mode": "multi"}},
    )


def stat(title: str, description: str, expr: str, unit: str = "short", legend: str = "") -> Json:
    """A single-value panel (last value of each series)."""
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
    }
    return panel("stat", title, description, [target(expr, legend)], unit, options=options)


def table(title: str, description: str, expr: str, unit: str = "short") -> Json:
    """An instant query shown as a table, one row per series (the time column hidden)."""
    organize = {"id": "organize", "options": {"excludeByName": {"Time": True}}}
    return panel(
        "table",
        title,
        description,
        [target(expr, instant=True, table=True)],
        unit,
        transformations=[organize],
    )


def quantiles(metric: str, by: str, selector: str, legend: str) -> list[Json]:
    """p50/p95/p99 of the histogram ``metric`` per ``by`` (labels besides ``le``)."""
    series = f"{metric}_bucket{{{selector}}}" if selector else f"{metric}_bucket"
    buckets = f"sum by (le, {by}) (rate({series}[{RATE}]))"
    return [target(f"histogram_quantile({q}, {buckets})", f"p{round(q * 100)} {legend}") for q in QUANTILES]


def row(title: str) -> Json:
    """A row header; the panels after it, up to the next row, belong to it."""
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


# --- dashboards -----------------------------------------------------------------------------


def variable(name: str, query: str, label: str) -> Json:
    """A multi-value template variable from ``label_values(...)`` with an All option (``.*``)."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-values"},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "sort": 1,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
    }


MODEL_VARIABLE = variable("model", "label_values(nivesh_model_info, model)", "Model")


def dashboard(uid: str, title: str, description: str, panels: list[Json], variables: list[Json]) -> Json:
    """The dashboard model: panels laid out left to right, 24 columns wide, ids from 1."""
    x = y = height = 0
    for number, item in enumerate(panels, start=1):
        item["id"] = number
        for ref, query in enumerate(item.get("targets", [])):
            query["refId"] = chr(ord("A") + ref)
        if item["type"] == "row":
            y, x, height = y + height, 0, 0
            item["gridPos"] = {"h": 1, "w": 24, "x": 0, "y": y}
            y += 1
            continue
        width = {"stat": 6, "table": 12}.get(item["type"], 12)
        size = 5 if item["type"] == "stat" else 8
        if x + width > 24:
            y, x, height = y + height, 0, 0
        item["gridPos"] = {"h": size, "w": width, "x": x, "y": y}
        x, height = x + width, max(height, size)
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["nivesh", "nivesh-ml"],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "annotations": {"list": []},
        "templating": {"list": variables},
        "panels": panels,
    }


def model_traffic() -> Json:
    """(a) Requests, latency and errors per route, and predictions per model and version."""
    with_version = (
        "topk by (model, role) (1, max by (model, role, version) (label_replace(nivesh_model_info{"
        + MODEL
        + '}, "role", "$1", "alias", "(.*)")))'
    )
    model_buckets = (
        f"sum by (le, model, role) (rate(nivesh_model_serve_duration_seconds_bucket{{{MODEL}}}[{RATE}]))"
    )
    model_latency = [
        target(
            f"histogram_quantile({q}, {model_buckets}) * on (model, role) group_left(version) {with_version}",
            f"p{round(q * 100)} {{{{model}}}} v{{{{version}}}} ({{{{role}}}})",
        )
        for q in QUANTILES
    ]
    predictions = f"sum by (model, version) (rate(nivesh_predictions_total{{{MODEL}}}[{RATE}]))"
    not_ok = f'rate(nivesh_predictions_total{{{MODEL}, outcome!="ok"}}[{RATE}])'
    failed = f"sum by (model, version) ({not_ok})"
    return dashboard(
        "nivesh-model-traffic",
        "Nivesh / Model traffic",
        "Requests, latency and errors of the model server, per route and per model version.",
        [
            row("HTTP"),
            timeseries(
                "Requests by route and status",
                "Answered requests per second (nivesh_http_requests_total).",
                [
                    target(
                        f"sum by (route, status) (rate(nivesh_http_requests_total[{RATE}]))",
                        "{{route}} {{status}}",
                    )
                ],
                "reqps",
            ),
            timeseries(
                "Latency by route (p50 / p95 / p99)",
                "Time to answer, from nivesh_http_request_duration_seconds.",
                quantiles("nivesh_http_request_duration_seconds", "route", "", "{{route}}"),
                "s",
            ),
            timeseries(
                "Errors by route and kind",
                "4xx/5xx answers per second: bad_input, auth, not_found, rate_limit, server, client.",
                [
                    target(
                        f"sum by (route, kind) (rate(nivesh_http_errors_total[{RATE}]))", "{{route}} {{kind}}"
                    )
                ],
                "reqps",
            ),
            stat(
                "In flight",
                "Requests being answered now, summed over replicas.",
                "sum(nivesh_http_requests_in_flight)",
            ),
            stat(
                "Error ratio (5xx)",
                "Share of answers that were server errors.",
                f'sum(rate(nivesh_http_requests_total{{status=~"5.."}}[{RATE}])) '
                f"/ sum(rate(nivesh_http_requests_total[{RATE}]))",
                "percentunit",
            ),
            row("Models"),
            timeseries(
                "Predictions by model and version",
                "Predictions per second, every role and outcome (nivesh_predictions_total).",
                [target(predictions, "{{model}} v{{version}}")],
                "reqps",
            ),
            timeseries(
                "Prediction errors by model, version and outcome",
                "bad_input (the model refused the input, 400) and error (a model fault, 500) per second.",
                [
                    target(
                        f"sum by (model, version, outcome) ({not_ok})",
                        "{{model}} v{{version}} {{outcome}}",
                    )
                ],
                "reqps",
            ),
            timeseries(
                "Model latency by model and version (p50 / p95 / p99)",
                "Time inside serve() (nivesh_model_serve_duration_seconds), joined to the role's version.",
                model_latency,
                "s",
            ),
            timeseries(
                "Error ratio by model and version",
                "Share of predictions that were not ok.",
                [target(f"{failed} / {predictions}", "{{model}} v{{version}}")],
                "percentunit",
            ),
            row("Access"),
            timeseries(
                "Rate-limit rejections by key",
                "Requests refused with 429, per API key name (nivesh_rate_limited_total).",
                [target(f"sum by (key) (rate(nivesh_rate_limited_total[{RATE}]))", "{{key}}")],
                "reqps",
            ),
            timeseries(
                "Auth failures by reason",
                "Requests refused for their API key (missing, unknown, revoked, scope).",
                [target(f"sum by (reason) (rate(nivesh_auth_failures_total[{RATE}]))", "{{reason}}")],
                "reqps",
            ),
            stat(
                "Rate-limit storage errors",
                "Checks the limiter's storage could not answer (requests let through); should stay 0.",
                f"sum(increase(nivesh_rate_limit_storage_errors_total[{RATE}]))",
            ),
        ],
        [MODEL_VARIABLE],
    )


def canary() -> Json:
    """(b) The challenger against the champion: traffic share, latency and errors by role."""
    by_role = f"sum by (model, role, version) (rate(nivesh_predictions_total{{{MODEL}}}[{RATE}]))"
    served = (
        f'sum by (model) (rate(nivesh_predictions_total{{{MODEL}, role=~"champion|challenger"}}[{RATE}]))'
    )
    to_challenger = f'sum by (model) (rate(nivesh_predictions_total{{{MODEL}, role="challenger"}}[{RATE}]))'
    errors = f'sum by (model, role) (rate(nivesh_predictions_total{{{MODEL}, outcome!="ok"}}[{RATE}]))'
    total = f"sum by (model, role) (rate(nivesh_predictions_total{{{MODEL}}}[{RATE}]))"
    live_quality = f"max by (model, version, metric) (nivesh_live_quality{{{MODEL}}})"  # one value a replica
    return dashboard(
        "nivesh-canary",
        "Nivesh / Canary vs champion",
        "The challenger (canary share or shadow) against the champion, per model.",
        [
            table(
                "Versions served",
                "Which version each alias serves (nivesh_model_info).",
                f"max by (model, alias, version) (nivesh_model_info{{{MODEL}}})",
            ),
            table(
                "Traffic to the challenger",
                "Share of answered predictions the challenger made (the canary percentage, by user hash).",
                f"{to_challenger} / {served}",
                "percentunit",
            ),
            timeseries(
                "Predictions by role and version",
                "champion and challenger answer; shadow scores a copy of champion traffic, never answered.",
                [target(by_role, "{{model}} {{role}} v{{version}}")],
                "reqps",
            ),
            timeseries(
                "Error ratio by role",
                "Share of predictions not ok (bad_input or error), champion against challenger.",
                [target(f"{errors} / {total}", "{{model}} {{role}}")],
                "percentunit",
            ),
            timeseries(
                "Model latency by role (p50 / p95 / p99)",
                "Time inside serve() per role (nivesh_model_serve_duration_seconds).",
                quantiles("nivesh_model_serve_duration_seconds", "model, role", MODEL, "{{model}} {{role}}"),
                "s",
            ),
            row("Live quality (feedback)"),
            timeseries(
                "Live quality by version",
                "Outcomes sent to POST /feedback scored against the predictions of the last 7 days "
                "(nivesh_live_quality): accuracy, f1, wape (lower is better), precision/recall, auc, "
                "tool_accuracy; as `nivesh-ml monitor quality MODEL` computes it.",
                [target(live_quality, "{{model}} v{{version}} {{metric}}")],
                "percentunit",
            ),
            table(
                "Predictions with feedback by version",
                "How many predictions of the last 7 days have an outcome (nivesh_live_feedback_count).",
                f"max by (model, version) (nivesh_live_feedback_count{{{MODEL}}})",
            ),
        ],
        [MODEL_VARIABLE],
    )


def drift() -> Json:
    """(c) Drift per model and feature, from the latest drift check."""
    feature_variable = variable(
        "feature", 'label_values(nivesh_feature_drifted{model=~"$model"}, feature)', "Feature"
    )
    features = f'{MODEL}, feature=~"$feature"'
    return dashboard(
        "nivesh-drift",
        "Nivesh / Drift",
        "Latest `nivesh-ml drift check` per model: the share of drifted features and which ones.",
        [
            stat(
                "Drift share by model",
                "Share of features that drifted in the latest check; NiveshDriftDetected fires at 0.3.",
                f"max by (model) (nivesh_drift_share{{{MODEL}}})",
                "percentunit",
                "{{model}}",
            ),
            stat(
                "Drifted features by model",
                "How many features drifted in the latest check.",
                f"sum by (model) (max by (model, feature) (nivesh_feature_drifted{{{MODEL}}}))",
                legend="{{model}}",
            ),
            timeseries(
                "Drift share over time",
                "Each check replaces the last; steps mark new checks.",
                [target(f"max by (model) (nivesh_drift_share{{{MODEL}}})", "{{model}}")],
                "percentunit",
            ),
            table(
                "Features (1 = drifted)",
                "Every feature of the latest check, by model.",
                f"max by (model, feature) (nivesh_feature_drifted{{{features}}})",
            ),
        ],
        [MODEL_VARIABLE, feature_variable],
    )


def feature_store() -> Json:
    """(d) Online feature store: reads by result, hit rate and call latency."""
    rows = "nivesh_feature_store_requests_total"
    reads = f'sum by (backend) (rate({rows}{{result=~"hit|miss|expired"}}[{RATE}]))'
    hits = f'sum by (backend) (rate({rows}{{result="hit"}}[{RATE}]))'
    return dashboard(
        "nivesh-feature-store",
        "Nivesh / Feature store",
        "The online feature store as the model server uses it (rows, not calls).",
        [
            stat(
                "Hit rate",
                "Share of rows asked for that were present and fresh.",
                f"{hits} / {reads}",
                "percentunit",
                "{{backend}}",
            ),
            timeseries(
                "Hit rate over time",
                "hit / (hit + miss + expired).",
                [target(f"{hits} / {reads}", "{{backend}}")],
                "percentunit",
            ),
            timeseries(
                "Rows by operation and result",
                "hit, miss, expired on reads; write, delete; error counts failed calls.",
                [
                    target(
                        f"sum by (backend, op, result) (rate({rows}[{RATE}]))",
                        "{{backend}} {{op}} {{result}}",
                    )
                ],
                "ops",
            ),
            timeseries(
                "Call latency by operation (p50 / p95 / p99)",
                "nivesh_feature_store_latency_seconds.",
                quantiles("nivesh_feature_store_latency_seconds", "backend, op", "", "{{backend}} {{op}}"),
                "s",
            ),
        ],
        [],
    )


def prediction_log() -> Json:
    """(e) The prediction log: queue, written, spilled, overflow, replayed, lost, DB failures."""
    records = "nivesh_predlog_records_total"
    return dashboard(
        "nivesh-prediction-log",
        "Nivesh / Prediction log",
        "The queue in front of model_prediction, its spill file and replays.",
        [
            stat(
                "Queue depth",
                "Records waiting for the writer, summed over replicas.",
                "sum(nivesh_predlog_queue_depth)",
            ),
            stat(
                "App DB write failures",
                "Batches the app DB refused in the last interval (they were spilled).",
                f"sum(increase(nivesh_predlog_write_failures_total[{RATE}]))",
            ),
            timeseries(
                "Queue depth over time",
                "A growing queue means the app DB is slower than the traffic.",
                [target("nivesh_predlog_queue_depth", "{{instance}}")],
            ),
            timeseries(
                "Records by result",
                "written; spilled (app DB failed); overflow (queue full); replayed (from spill); lost.",
                [target(f"sum by (result) (rate({records}[{RATE}]))", "{{result}}")],
                "ops",
            ),
            timeseries(
                "Spill and replay",
                "Records not written straight away, and the ones replayed; lost should stay 0.",
                [target(f'sum by (result) (increase({records}{{result!="written"}}[{RATE}]))', "{{result}}")],
            ),
            timeseries(
                "App DB write failures over time",
                "nivesh_predlog_write_failures_total per second.",
                [target(f"sum(rate(nivesh_predlog_write_failures_total[{RATE}]))", "failures")],
                "ops",
            ),
        ],
        [],
    )


def models() -> Json:
    """Model info: versions served, when they loaded, reloads and failed loads."""
    reloads = f"nivesh_model_reloads_total{{{MODEL}}}"
    return dashboard(
        "nivesh-models",
        "Nivesh / Models",
        "What each replica serves: version per alias, load time, reloads and versions that failed to load.",
        [
            table(
                "Versions served",
                "1 per (model, alias, version) served (nivesh_model_info).",
                f"max by (model, alias, version) (nivesh_model_info{{{MODEL}}})",
            ),
            table(
                "Loaded at",
                "When the served version was loaded (nivesh_model_loaded_timestamp_seconds).",
                f"max by (model, alias) (nivesh_model_loaded_timestamp_seconds{{{MODEL}}}) * 1000",
                "dateTimeAsIso",
            ),
            timeseries(
                "Time since load",
                "Age of the loaded version; a drop is a reload.",
                [target(f"time() - nivesh_model_loaded_timestamp_seconds{{{MODEL}}}", "{{model}} {{alias}}")],
                "s",
            ),
            timeseries(
                "Loads by result",
                "Loads at start-up and after alias moves: loaded or failed.",
                [
                    target(
                        f"sum by (model, alias, result) (increase({reloads}[{RATE}]))",
                        "{{model}} {{alias}} {{result}}",
                    )
                ],
            ),
            stat(
                "Failed loads",
                "Versions that failed to load (the old one kept serving); NiveshModelReloadFailing.",
                f"sum by (model, alias) (nivesh_model_reload_failures_total{{{MODEL}}})",
                legend="{{model}} {{alias}}",
            ),
        ],
        [MODEL_VARIABLE],
    )


BUILDERS = {
    "model-traffic": model_traffic,
    "canary": canary,
    "drift": drift,
    "feature-store": feature_store,
    "prediction-log": prediction_log,
    "models": models,
}


def render() -> dict[str, str]:
    """Every dashboard's file name and JSON text."""
    return {f"{name}.json": json.dumps(build(), indent=2) + "\n" for name, build in BUILDERS.items()}


def main(argv: list[str]) -> int:
    """Write the dashboards, or with ``--check`` report the ones that differ (exit 1)."""
    stale = [name for name, text in render().items() if _read(DASHBOARDS_DIR / name) != text]
    if "--check" in argv:
        for name in stale:
            print(
                f"deploy/grafana/dashboards/{name} is stale: run python deploy/grafana/build.py",
                file=sys.stderr,
            )
        return 1 if stale else 0
    DASHBOARDS_DIR.mkdir(exist_ok=True)
    for name, text in render().items():
        (DASHBOARDS_DIR / name).write_text(text)
    print(f"wrote {len(BUILDERS)} dashboards to {DASHBOARDS_DIR}")
    return 0


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
