"""The ``nivesh-ml`` command line: every subcommand delegates to a package; no logic lives here.

Errors the user can fix (``NiveshError``) end the command with one line on stderr and exit
code 2; so does a bad option (typer/click usage errors).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nivesh_ml import __version__
from nivesh_ml.config import Settings, load_settings
from nivesh_ml.data.scenarios import scenario_help
from nivesh_ml.errors import NiveshError
from nivesh_ml.log import setup_logging

__all__ = ["app", "main"]

app = typer.Typer(
    help="nivesh-ml: Nivesh's ML platform, six financial models from data to production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(
    help="Data sets: the synthetic Nivesh data and the shipped public data.", no_args_is_help=True
)
db_app = typer.Typer(help="The app database: migrations.", no_args_is_help=True)
features_app = typer.Typer(
    help="The feature store: offline snapshots and online serving.", no_args_is_help=True
)
models_app = typer.Typer(
    help="The model registry: versions, aliases, promotion, rollback.", no_args_is_help=True
)
drift_app = typer.Typer(
    help="Drift of live traffic against each champion's training data.", no_args_is_help=True
)
app.add_typer(drift_app, name="drift")
pipeline_app = typer.Typer(help="Retraining pipelines, run in-process.", no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")
app.add_typer(features_app, name="features")
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="API keys of the model server: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

stdout = Console()

ModelArg = Annotated[str, typer.Argument(help="intent, ner, spending, anomaly, credit-risk or assistant.")]


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)  # nosec B101  # narrows for mypy; main() sets obj
    return settings


def _version(value: bool) -> None:
    if value:
        stdout.print(f"nivesh-ml {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Load settings (NIVESH_* environment, .env), set up logging, keep every library offline."""
    from nivesh_ml.pii import install_log_redactor

    settings = load_settings()
    settings.export_offline_env()
    setup_logging(settings.log_level, settings.log_format)
    install_log_redactor()
    # MLflow warns on every logged data set that a local path "can be interpreted in multiple
    # ways" (both candidates are the same local source): noise in every training run's output.
    warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
    ctx.obj = settings


@app.command()
def up(
    ctx: typer.Context,
    serve: Annotated[
        bool, typer.Option(help="End by serving every champion on NIVESH_HOST:NIVESH_PORT (Ctrl-C stops).")
    ] = True,
    models: Annotated[
        str, typer.Option(help="Models to train: all, none, or a comma list such as intent,ner.")
    ] = "all",
) -> None:
    """The main job: data, app DB, features, train all six models, then serve; re-runs skip done work."""
    from nivesh_ml.models.common import PACKAGES
    from nivesh_ml.pipelines.up import run_up

    chosen = {"all": list(PACKAGES), "none": []}.get(models)
    if chosen is None:
        chosen = [name.strip() for name in models.split(",") if name.strip()]
        unknown = sorted(set(chosen) - set(PACKAGES))
        if unknown:
            raise NiveshError(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(PACKAGES)}")
    run_up(_settings(ctx), serve=serve, models=chosen)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address [default: NIVESH_HOST, 127.0.0.1].")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65_535, help="Port [default: NIVESH_PORT, 8000].")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="uvicorn workers [default: NIVESH_WORKERS, 1].")
    ] = None,
) -> None:
    """Serve every model's champion over HTTP (FastAPI + uvicorn) until interrupted."""
    from nivesh_ml.serving import serve

    settings = _settings(ctx)
    overrides = {"host": host, "port": port, "workers": workers}
    serve(settings.model_copy(update={k: v for k, v in overrides.items() if v is not None}))


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Who the key is for, e.g. backend-prod.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes: predict, admin.")] = "predict",
) -> None:
    """Create an API key and print it once (only its salted hash is stored)."""
    from nivesh_ml.serving import create_key

    key = create_key(_settings(ctx), name, [scope.strip() for scope in scopes.split(",") if scope.strip()])
    print(key)
    print("store it now: it is not shown again", file=sys.stderr)


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """Every stored key: name, prefix, scopes, created, revoked (never the key)."""
    from nivesh_ml.serving import list_keys

    table = Table("name", "prefix", "scopes", "created", "revoked")
    for info in list_keys(_settings(ctx)):
        table.add_row(info.name, info.prefix, ",".join(info.scopes), info.created_at, info.revoked_at or "")
    stdout.print(table)


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    name_or_prefix: Annotated[str, typer.Argument(help="The key's name or its 8-character prefix.")],
) -> None:
    """Revoke a key (servers stop accepting it within NIVESH_API_KEY_CACHE_TTL_S seconds)."""
    from nivesh_ml.serving import revoke_key

    stdout.print(f"revoked {revoke_key(_settings(ctx), name_or_prefix)} key(s)")


@data_app.command("generate")
def data_generate(
    ctx: typer.Context,
    users: Annotated[
        int | None, typer.Option(min=1, help="Users to generate [default: NIVESH_USERS].")
    ] = None,
    months: Annotated[
        int | None, typer.Option(min=1, max=120, help="Months of transactions [default: NIVESH_MONTHS].")
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed [default: NIVESH_SEED].")] = None,
    force: Annotated[
        bool, typer.Option(help="Regenerate even if the same data set is already there.")
    ] = False,
) -> None:
    """Generate synthetic Nivesh users, accounts and transactions (with labelled anomalies)."""
    from nivesh_ml.data.nivesh import ensure_synthetic, synthetic_dir
    from nivesh_ml.data.synthetic import GeneratorConfig

    settings = _settings(ctx)
    config = GeneratorConfig(
        users=users or settings.users,
        months=months or settings.months,
        seed=settings.seed if seed is None else seed,
    )
    manifest = ensure_synthetic(settings, config, force=force)
    rows = ", ".join(f"{name} {count:,}" for name, count in manifest["rows"].items())
    stdout.print(f"{synthetic_dir(settings)}: {rows} (version {manifest['version'][:12]})")


@data_app.command("advance")
def data_advance(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=1, help="Days to append after the data set's last day.")] = 1,
    scenario: Annotated[
        str | None,
        typer.Option(help=f"How the world changes from the first of these days: {scenario_help()}."),
    ] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed (default: the data set's).")] = None,
) -> None:
    """Continue every user's timeline: append day partitions to the synthetic data (history untouched)."""
    from nivesh_ml.data.nivesh import advance_synthetic, synthetic_dir

    manifest = advance_synthetic(_settings(ctx), days, scenario=scenario, seed=seed)
    advanced = manifest["advanced"]
    stdout.print(
        f"{synthetic_dir(_settings(ctx))}: {advanced['first_day']}..{advanced['last_day']} advanced, "
        f"{advanced['rows']:,} rows (version {manifest['version'][:12]})"
    )


@data_app.command("check")
def data_check(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of the shipped public data sets [default: NIVESH_DATASETS_DIR]."),
    ] = None,
) -> None:
    """Check the shipped public data sets: every file present and its checksum as SOURCE.md lists."""
    from nivesh_ml.data.public import verify_all

    statuses = verify_all(data_dir or _settings(ctx).datasets_dir)
    table = Table("data set", "status", "licence", "detail")
    for status in statuses:
        table.add_row(status.name, "ok" if status.ok else "[red]problem", status.licence, status.message)
    stdout.print(table)
    if not all(status.ok for status in statuses):
        raise typer.Exit(2)


@features_app.command("build")
def features_build(
    ctx: typer.Context,
    snapshots: Annotated[
        int, typer.Option(min=1, max=36, help="Month-start snapshots besides 'latest'.")
    ] = 6,
    force: Annotated[bool, typer.Option(help="Rebuild snapshots that are already current.")] = False,
    full: Annotated[
        bool, typer.Option(help="Read the whole data set, not only the days appended since the last build.")
    ] = False,
) -> None:
    """Compute every feature view as of each snapshot time and write it to the offline store."""
    from nivesh_ml.features.materialize import build_features

    built = build_features(_settings(ctx), snapshots=snapshots, force=force, incremental=not full)
    stdout.print(f"{built} feature snapshots built under {_settings(ctx).features_dir}")


@features_app.command("materialize")
def features_materialize(
    ctx: typer.Context,
    full: Annotated[bool, typer.Option(help="Write every entity, not only changed or missing ones.")] = False,
) -> None:
    """Copy each view's latest offline snapshot into the online store (changed entities only)."""
    from nivesh_ml.features.materialize import materialize
    from nivesh_ml.features.online import make_online_store

    settings = _settings(ctx)
    online = make_online_store(settings)
    try:
        reports = materialize(settings, online, full=full)
    finally:
        online.close()
    table = Table("view", "as of", "entities", "written", "unchanged")
    for report in reports:
        table.add_row(
            report.view,
            str(report.as_of),
            f"{report.entities:,}",
            f"{report.written:,}",
            f"{report.unchanged:,}",
        )
    stdout.print(table)


@features_app.command("refresh")
def features_refresh(ctx: typer.Context) -> None:
    """Keep every online view inside its TTL (run daily): copy changed rows, extend the others."""
    from datetime import UTC, datetime

    from nivesh_ml.features.online import make_online_store
    from nivesh_ml.features.refresh import refresh

    settings = _settings(ctx)
    online = make_online_store(settings)
    try:
        reports = refresh(settings, online, as_of=datetime.now(UTC))
    finally:
        online.close()
    table = Table("view", "snapshot as of", "written", "extended", "age before", "age after", "ttl")
    for report in reports:
        ages = (_hours(report.age_before_s), _hours(report.age_after_s), _hours(report.ttl_s))
        table.add_row(
            report.view, str(report.snapshot_as_of), f"{report.written:,}", f"{report.extended:,}", *ages
        )
    stdout.print(table)


def _hours(seconds: float | None) -> str:
    return "never refreshed" if seconds is None else f"{seconds / 3600:.1f} h"


@features_app.command("get")
def features_get(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The user, e.g. U0000001.")],
    view: Annotated[str | None, typer.Option(help="Only this view (default: every view).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Show a user's online features, view by view."""
    from nivesh_ml.features.lookup import online_features

    rows = online_features(_settings(ctx), user_id, view)
    if as_json:
        print(json.dumps(rows, default=str))
        return
    for name, features in rows.items():
        table = Table("feature", "value", title=name)
        for feature, value in features.items():
            table.add_row(feature, repr(value))
        stdout.print(table)


@app.command()
def train(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Argument(help="intent, ner, spending, anomaly, credit-risk, assistant, or all.")
    ],
    quick: Annotated[bool, typer.Option(help="Few steps on little data (smoke runs, tests).")] = False,
    dataset: Annotated[
        str,
        typer.Option(help="nivesh (synthetic) or a public benchmark: banking77, taiwan, german, birmingham."),
    ] = "nivesh",
    data_dir: Annotated[Path | None, typer.Option(help="Folder of the benchmark data set.")] = None,
    backend: Annotated[
        str, typer.Option(help="The assistant only: local (LoRA here) or vertex (Gemini tuning job).")
    ] = "local",
) -> None:
    """Train a model (data -> fit -> evaluate -> log -> register through the promotion gate)."""
    from nivesh_ml.models.common import PACKAGES, TrainOptions, trainer

    options = TrainOptions(quick=quick, dataset=dataset, data_dir=data_dir, backend=backend)
    for name in list(PACKAGES) if model == "all" else [model]:
        report = trainer(name)(_settings(ctx), options)
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in report.metrics.items())
        verdict = (
            f"v{report.version} {report.outcome}: {report.reason}" if report.version else "not registered"
        )
        stdout.print(f"{name}: {metrics}\n  {verdict}")


@app.command()
def evaluate(
    ctx: typer.Context,
    model: ModelArg,
    data: Annotated[Path, typer.Option(help="Labelled file in the model's format (see ARCHITECTURE.md).")],
    alias: Annotated[str, typer.Option(help="Registry alias of the version to evaluate.")] = "champion",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object of metrics.")] = False,
) -> None:
    """Score a registered model version on a labelled file."""
    from nivesh_ml.models.common import evaluator

    if not data.is_file():
        raise NiveshError(f"{data}: no such file; pass a labelled file with --data")
    metrics = evaluator(model)(_settings(ctx), data, alias)
    if as_json:
        print(json.dumps(metrics, default=str))
        return
    table = Table("metric", "value")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else json.dumps(value, default=str))
    stdout.print(table)


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """Every registered version: aliases, gate metric, training data version, created."""
    from nivesh_ml.tracking.registry import list_models

    table = Table("name", "version", "alias", "key metric", "dataset", "created")
    for row in list_models(_settings(ctx)):
        table.add_row(*(str(row[k]) for k in ("name", "version", "aliases", "metric", "dataset", "created")))
    stdout.print(table)


@models_app.command("promote")
def models_promote(
    ctx: typer.Context,
    model: ModelArg,
    version: Annotated[str, typer.Argument(help="The registered version to make champion.")],
    force: Annotated[bool, typer.Option(help="Skip the gate (quality bar and champion comparison).")] = False,
) -> None:
    """Make a version champion; without --force it must clear the promotion gate."""
    from nivesh_ml.tracking.registry import promote

    stdout.print(promote(_settings(ctx), model, version, force=force))


@models_app.command("rollback")
def models_rollback(ctx: typer.Context, model: ModelArg) -> None:
    """Move champion back to the previous champion."""
    from nivesh_ml.tracking.registry import rollback

    stdout.print(rollback(_settings(ctx), model))


@app.command()
def ui(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(min=1, max=65_535, help="Port on 127.0.0.1.")] = 5000,
) -> None:
    """Start the MLflow UI on 127.0.0.1 for the configured tracking store (Ctrl-C stops it)."""
    import subprocess  # nosec B404  # only to start `mlflow ui`, below

    from nivesh_ml.tracking.store import use_tracking

    settings = _settings(ctx)
    use_tracking(settings)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", settings.tracking_uri]
    subprocess.run([*command, "--host", "127.0.0.1", "--port", str(port)], check=False)  # nosec B603  # argv list, no shell


@drift_app.command("check")
def drift_check(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Argument(help="intent, ner, spending, anomaly, credit-risk, assistant, or all.")
    ],
    window: Annotated[
        str, typer.Option(help="How far back to read logged predictions: 7d, 24h, 30m.")
    ] = "7d",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object (one per model with all).")
    ] = False,
) -> None:
    """Compare recent traffic with the champion's training reference (Evidently); report and record it."""
    from dataclasses import asdict

    from nivesh_ml.monitoring.drift import check_all, check_drift, parse_window

    if model == "all":
        outcomes = check_all(_settings(ctx), parse_window(window))
        for outcome in outcomes:
            print(json.dumps(asdict(outcome), default=str) if as_json else outcome.reason)
        if any(outcome.status == "failed" for outcome in outcomes):
            raise typer.Exit(1)
        return
    result = check_drift(_settings(ctx), model, parse_window(window), html=True)
    if as_json:
        print(json.dumps(asdict(result), default=str))
        return
    table = Table("feature", "drifted", "score", "method", title=f"{model} v{result.version}, last {window}")
    for name, column in result.columns.items():
        table.add_row(name, "yes" if column["drifted"] else "no", f"{column['score']:.4f}", column["method"])
    stdout.print(table)
    verdict = "DRIFT" if result.dataset_drift else "no drift"
    stdout.print(f"{verdict}: {result.drift_share:.0%} of features drifted; report {result.report_html}")


monitor_app = typer.Typer(
    help="Live quality from the outcomes sent to POST /feedback, and those outcomes as labels.",
    no_args_is_help=True,
)
app.add_typer(monitor_app, name="monitor")
WindowOption = Annotated[
    str, typer.Option(help="Predictions made this far back (with feedback): 30d, 24h, 90m.")
]


@monitor_app.command("quality")
def monitor_quality(
    ctx: typer.Context,
    model: ModelArg,
    window: WindowOption = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Live quality per model version: the logged predictions joined to their feedback."""
    from dataclasses import asdict
    from datetime import UTC, datetime

    from nivesh_ml.monitoring.quality import live_quality, parse_window

    report = live_quality(_settings(ctx), model, as_of=datetime.now(UTC), window=parse_window(window))
    if as_json:
        print(json.dumps(asdict(report)))
        return
    table = Table("version", "feedback", "unusable", "metrics", title=f"{model}, since {report.since}")
    for row in report.versions:
        scores = ", ".join(f"{name} {value:.4f}" for name, value in row.metrics.items()) or "-"
        table.add_row(row.version, str(row.feedback), str(row.unusable), scores)
    stdout.print(table)


@monitor_app.command("export-labels")
def monitor_export_labels(ctx: typer.Context, model: ModelArg, window: WindowOption = "30d") -> None:
    """Write the window's outcomes as labelled data in the model's format, versioned by content hash."""
    from datetime import UTC, datetime

    from nivesh_ml.monitoring.labels import export_labels
    from nivesh_ml.monitoring.quality import parse_window

    folder = export_labels(_settings(ctx), model, as_of=datetime.now(UTC), window=parse_window(window))
    manifest = json.loads((folder / "manifest.json").read_text())
    stdout.print(f"{folder}: {manifest['rows']:,} labelled rows (version {manifest['version'][:12]})")


@pipeline_app.command("run")
def pipeline_run(
    ctx: typer.Context,
    model: ModelArg,
    quick: Annotated[bool, typer.Option(help="Train in quick mode (few steps).")] = False,
    fresh: Annotated[bool, typer.Option(help="Start over instead of resuming a failed run.")] = False,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto",
            help="Retrain only if a trigger fires (drift, live quality below the bar, --max-age); "
            "the trigger is recorded on the run.",
        ),
    ] = False,
    max_age: Annotated[
        str | None, typer.Option(help="With --auto: retrain a champion older than this (30d).")
    ] = None,
) -> None:
    """Retrain: extract, validate, features, train (evaluate, gate, register), deploy; resumes on failure.

    A version that beats the champion becomes a canary challenger (`nivesh-ml canary decide`).
    """
    from nivesh_ml.monitoring.window import parse_window
    from nivesh_ml.pipelines.retrain import MANUAL, run_pipeline
    from nivesh_ml.pipelines.triggers import retrain_triggers

    settings = _settings(ctx)
    trigger = MANUAL
    if auto:
        age = parse_window(max_age) if max_age else None
        fired = retrain_triggers(settings, model, max_age=age)
        if not fired:
            stdout.print(f"{model}: no trigger fired (no drift, live quality within the bar, not too old)")
            return
        trigger = fired[0]
        stdout.print(f"{model}: retraining for {trigger['kind']}: {trigger['reason']}")
    result = run_pipeline(settings, model, quick=quick, fresh=fresh, trigger=trigger)
    context = result.context
    stdout.print(f"{model}: ran {', '.join(result.ran) or 'nothing'}; version {context.get('version')}")
    stdout.print(
        f"  {context.get('outcome')}: {context.get('reason')}; deployment {context.get('deployment')}"
    )


@app.command()
def simulate(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(help="Simulated days to run.")] = 60,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="income-shock, inflation, new-merchants or fraud-wave (see `data advance --help`)."
        ),
    ] = None,
    scenario_start: Annotated[int, typer.Option(help="The simulated day the scenario begins.")] = 10,
    users: Annotated[int, typer.Option(help="Simulated population.")] = 1_000,
    months: Annotated[
        int,
        typer.Option(
            help="Months of history before the first simulated day (at least 8; 15: full-year statistics)."
        ),
    ] = 15,
    models: Annotated[str, typer.Option(help="Looped models, comma-separated: credit-risk, anomaly.")] = (
        "credit-risk,anomaly"
    ),
    out: Annotated[
        Path | None, typer.Option(help="Simulation folder (default <home>/simulations/<scenario>).")
    ] = None,
) -> None:
    """Run the whole loop day by day (new data, features, traffic, late outcomes, drift, retrain,
    canary) against a real server on embedded stores; write report.html and summary.json.

    Interrupted, it continues after its last finished day when run again with the same options.
    """
    from nivesh_ml.simulate import SimulationConfig, run_simulation, write_report

    settings = _settings(ctx)
    looped = tuple(name.strip() for name in models.split(",") if name.strip())
    config = SimulationConfig(
        days=days, scenario=scenario, scenario_start=scenario_start, users=users, months=months, models=looped
    )
    folder = out or settings.home / "simulations" / (scenario or "quiet")
    records = run_simulation(settings, folder, config)
    page, summary = write_report(
        folder, records, json.loads((folder / "config.json").read_text()),
        drift_thresholds={model: settings.drift_threshold(model) for model in config.models},
    )  # fmt: skip
    stdout.print(f"report {page}; summary {summary}")
    stdout.print(summary.read_text())


canary_app = typer.Typer(
    help="Canaries: promote or roll back a challenger by its live quality.", no_args_is_help=True
)
app.add_typer(canary_app, name="canary")


@canary_app.command("decide")
def canary_decide(
    ctx: typer.Context,
    model: Annotated[
        str, typer.Argument(help="intent, ner, spending, anomaly, credit-risk, assistant, or all.")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per model.")] = False,
) -> None:
    """Promote each challenger whose live loss is not significantly worse than the champion's
    (one-sided Welch t-test), roll back the others; wait while outcomes are too few."""
    from nivesh_ml.monitoring.canary import decide_all, decide_canary

    settings = _settings(ctx)
    verdicts = decide_all(settings) if model == "all" else [decide_canary(settings, model)]
    for verdict in verdicts:
        print(json.dumps(verdict.as_dict()) if as_json else verdict.reason)
    if any(verdict.status == "failed" for verdict in verdicts):
        raise typer.Exit(1)


@pipeline_app.command("daily")
def pipeline_daily(
    ctx: typer.Context,
    days: Annotated[
        int, typer.Option(help="Day partitions to ingest (synthetic data: advanced); 0: none.")
    ] = 1,
    scenario: Annotated[str | None, typer.Option(help="A scenario for the ingested days.")] = None,
    window: Annotated[str, typer.Option(help="Traffic the drift check reads: 1d, 24h, 90m.")] = "1d",
    quick: Annotated[bool, typer.Option(help="Retrain in quick mode (few steps).")] = False,
) -> None:
    """The living platform's day: ingest, validate, build features incrementally, materialise, check
    drift, retrain what a trigger asks for (as a canary challenger), decide canaries. Prints JSON."""
    from nivesh_ml.monitoring.window import parse_window
    from nivesh_ml.pipelines.daily import run_day
    from nivesh_ml.tracking.store import MODEL_KEYS

    report = run_day(
        _settings(ctx),
        MODEL_KEYS,
        days=days,
        scenario=scenario,
        drift_window=parse_window(window),
        quick=quick,
    )
    print(json.dumps(report.as_dict(), default=str))


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Create or migrate the app database to the latest schema (safe to re-run)."""
    from nivesh_ml.db.migrate import current, upgrade

    url = _settings(ctx).db_url
    upgrade(url, revision)
    stdout.print(f"app database at revision {current(url)}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the app database's current migration revision."""
    from nivesh_ml.db.migrate import current

    stdout.print(current(_settings(ctx).db_url) or "empty (run `nivesh-ml db upgrade`)")


def main() -> None:
    """Console entry point: run the app, turning a user-fixable error into one line and exit 2."""
    try:
        app()
    except NiveshError as exc:
        print(f"nivesh-ml: error: {exc}", file=sys.stderr)
        sys.exit(2)
