"""The main job behind ``make run``: every stage in order, each safe to re-run, then the server.

Stages: generate the synthetic Nivesh data, create or migrate the app database, build the offline
feature snapshots, materialise the latest into the online store, train each of the six models
(through tracking and the promotion gate), and make sure an API key exists. Then
:func:`run_up` serves every champion on ``settings.host:settings.port`` until interrupted.

A model is trained only when the registry holds no version of it yet: a second ``make run``
goes straight to serving (``nivesh-ml train MODEL`` retrains on demand). ``up`` trains with
``TrainOptions(fast=True)``: the assistant, the spending backtest and the credit-risk search get
shorter recipes so the whole job fits in about 20 minutes on two cores (docs/BENCHMARKS.md,
"make run"; docs/TRAINING_GUIDE.md for the full recipes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from nivesh_ml.config import Settings
from nivesh_ml.db.migrate import upgrade
from nivesh_ml.log import get_logger
from nivesh_ml.models.common import PACKAGES, TrainOptions, trainer
from nivesh_ml.pipelines.daily import prepare_data, refresh_features
from nivesh_ml.tracking.registry import CHAMPION, list_models

__all__ = ["API_KEY_FILE", "STAGES", "Stage", "run_up", "stages"]

log = get_logger(__name__)

API_KEY_FILE = "api_key"  # under settings.home: the key `make run` created, readable by its owner only


@dataclass(frozen=True)
class Stage:
    """One step of the main job: a name for the progress display and the function that runs it."""

    name: str
    run: Callable[[Settings], None]


def _generate_data(settings: Settings) -> None:
    prepare_data(settings)


def _create_database(settings: Settings) -> None:
    upgrade(settings.db_url)


def _features(settings: Settings) -> None:
    refresh_features(settings)


def _train(model: str, options: TrainOptions, settings: Settings) -> None:
    registered = [row for row in list_models(settings) if row["model"] == model]
    if registered:
        log.info(
            f"{model}: v{registered[0]['version']} already registered; `nivesh-ml train {model}` retrains"
        )
        return
    report = trainer(model)(settings, options)
    log.info(f"{model}: v{report.version} {report.outcome}: {report.reason}")


def _ensure_api_key(settings: Settings) -> None:
    """Create the key ``make run`` prints, once; later runs reuse it (revoke it like any other)."""
    from nivesh_ml.serving import create_key

    path = settings.home / API_KEY_FILE
    if path.is_file():
        return
    key = create_key(settings, "make-run", ["predict", "admin"])
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")


def stages(options: TrainOptions | None = None, models: Sequence[str] = tuple(PACKAGES)) -> tuple[Stage, ...]:
    """The main job's stages, training ``models`` with ``options`` (default: the ``up`` budget)."""
    options = options or TrainOptions(fast=True)
    return (
        Stage("generate synthetic data", _generate_data),
        Stage("create app database", _create_database),
        Stage("build and materialise features", _features),
        *(Stage(f"train {model}", partial(_train, model, options)) for model in models),
        Stage("create an API key", _ensure_api_key),
    )


STAGES: tuple[Stage, ...] = stages()


def run_up(
    settings: Settings,
    *,
    serve: bool = True,
    options: TrainOptions | None = None,
    models: Sequence[str] = tuple(PACKAGES),
) -> None:
    """Run every stage in order (each skips work already done), then serve unless ``serve`` is off."""
    planned = stages(options, models)
    for number, stage in enumerate(planned, start=1):
        log.info(f"[{number}/{len(planned)}] {stage.name}")
        stage.run(settings)
    champions = {row["model"] for row in list_models(settings) if CHAMPION in row["aliases"].split(",")}
    missing = sorted(set(models) - champions)
    if missing:
        log.warning(f"no champion for {', '.join(missing)}: those routes answer 503 until one is promoted")
    log.info("nivesh-ml is up", extra={"home": str(settings.home)})
    if serve:
        from nivesh_ml.serving import serve as serve_models

        key_file = settings.home / API_KEY_FILE
        log.info(
            f"serving on http://{settings.host}:{settings.port} (docs at /docs); "
            f'API key in {key_file}: curl -H "X-API-Key: $(cat {key_file})" '
            f"http://{settings.host}:{settings.port}/models"
        )
        serve_models(settings)
