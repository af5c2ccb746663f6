"""The main job behind ``make run``: every stage that exists, in order, each safe to re-run.

Today: generate the synthetic Nivesh data, create or migrate the app database, build the
offline feature snapshots and materialise the latest into the online store. Later stages
(training, registry, serving) append themselves to :data:`STAGES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import ensure_synthetic
from nivesh_ml.data.synthetic import GeneratorConfig
from nivesh_ml.db.migrate import upgrade
from nivesh_ml.features.materialize import build_features, materialize
from nivesh_ml.features.online import make_online_store
from nivesh_ml.log import get_logger

__all__ = ["STAGES", "Stage", "run_up"]

log = get_logger(__name__)


@dataclass(frozen=True)
class Stage:
    """One step of the main job: a name for the progress display and the function that runs it."""

    name: str
    run: Callable[[Settings], None]


def _generate_data(settings: Settings) -> None:
    config = GeneratorConfig(users=settings.users, months=settings.months, seed=settings.seed)
    ensure_synthetic(settings, config)


def _create_database(settings: Settings) -> None:
    upgrade(settings.db_url)


def _build_features(settings: Settings) -> None:
    build_features(settings)


def _materialize_features(settings: Settings) -> None:
    online = make_online_store(settings)
    try:
        materialize(settings, online)
    finally:
        online.close()


STAGES: tuple[Stage, ...] = (
    Stage("generate synthetic data", _generate_data),
    Stage("create app database", _create_database),
    Stage("build feature snapshots", _build_features),
    Stage("materialise online features", _materialize_features),
)


def run_up(settings: Settings) -> None:
    """Run every stage of the main job in order; each one skips work that is already done."""
    for number, stage in enumerate(STAGES, start=1):
        log.info(f"[{number}/{len(STAGES)}] {stage.name}")
        stage.run(settings)
    log.info("nivesh-ml is up", extra={"home": str(settings.home)})
