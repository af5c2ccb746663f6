"""The app factory and the process that serves it.

``create_app(settings)`` builds the FastAPI app and nothing else: the models load, the writer
thread starts and the registry poller begins in the app's lifespan (start-up), and so does the
feature refresher on the embedded store; all of it stops there too (shutdown writes the
prediction log out). ``serve(settings)`` runs it under
uvicorn on ``settings.host:settings.port`` with ``settings.workers`` processes (default one).
Each worker loads its own models and exports its own ``/metrics``; in production prefer one
worker per replica behind a load balancer, so each replica is scraped on its own (replicas share
rate limits through Redis).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from functools import partial
from importlib import metadata
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry

from nivesh_ml.config import Settings, load_settings
from nivesh_ml.errors import ConfigError
from nivesh_ml.log import JsonFormatter, RedactingFilter, get_logger, setup_logging
from nivesh_ml.monitoring.drift_metrics import DriftCollector
from nivesh_ml.monitoring.quality_metrics import QualityCollector
from nivesh_ml.pii import install_log_redactor, redact
from nivesh_ml.serving.config import ServingConfig
from nivesh_ml.serving.errors import install_error_handlers
from nivesh_ml.serving.guard import RequestGuard, SecureHeaders
from nivesh_ml.serving.metrics import MetricsMiddleware, ServerMetrics
from nivesh_ml.serving.protocol import HeaderTimeoutProtocol
from nivesh_ml.serving.routes import ROUTERS
from nivesh_ml.serving.state import ServerState

__all__ = ["app_from_environment", "create_app", "redacting_filter", "serve"]

log = get_logger(__name__)

WORKER_HEALTHCHECK_S = 120  # how long a worker process may stay silent (loading models) before it is replaced

DESCRIPTION = """\
Nivesh's six models over HTTP: intent, entities, spending forecast, transaction anomalies,
credit risk and the assistant. Send an API key in `X-API-Key` (every route but `/health` and
`/metrics`). Every prediction carries a `prediction_id`; send the real outcome to `/feedback`.
"""


def create_app(settings: Settings, *, config: ServingConfig | None = None) -> FastAPI:
    """The model server's app; models load when it starts (see the module docstring)."""
    config = config or ServingConfig.from_settings(settings)
    install_log_redactor()
    metrics = ServerMetrics(CollectorRegistry(auto_describe=True))
    metrics.registry.register(DriftCollector(settings))  # the latest drift check of every model
    metrics.registry.register(QualityCollector(settings))  # live quality from feedback, per version
    app = FastAPI(
        title="Nivesh model server",
        version=metadata.version("nivesh-ml"),
        description=DESCRIPTION,
        lifespan=_lifespan(settings, config, metrics),
    )
    app.state.metrics = metrics
    install_error_handlers(app)
    app.add_middleware(RequestGuard, body_timeout_s=config.body_timeout_s)  # innermost: size, time, key
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["X-API-Key", "Content-Type"],
        expose_headers=["Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"],
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SecureHeaders)  # outermost: on every answer, the guard's own included
    for router in ROUTERS:
        app.include_router(router)
    return app


def _lifespan(
    settings: Settings, config: ServingConfig, metrics: ServerMetrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await anyio.to_thread.run_sync(partial(ServerState.open, settings, config, metrics))
        app.state.nivesh = state
        poller = asyncio.create_task(_poll(state)) if config.reload_interval_s > 0 else None
        refresher = asyncio.create_task(_refresh_features(state)) if _refreshes(settings) else None
        log.info("model server ready", extra={"models": _served(state)})
        try:
            yield
        finally:
            for task in (poller, refresher):
                if task is not None:
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task
            await anyio.to_thread.run_sync(state.close)
            log.info("model server stopped")

    return lifespan


async def _poll(state: ServerState) -> None:
    """Follow the registry every ``reload_interval_s`` seconds (hot reload)."""
    while True:
        await asyncio.sleep(state.config.reload_interval_s)
        await anyio.to_thread.run_sync(state.reload)


def _refreshes(settings: Settings) -> bool:
    # With Redis (production) the nivesh_features_refresh DAG refreshes, once for every replica.
    return settings.online_store == "sqlite" and settings.feature_refresh_interval_s > 0


async def _refresh_features(state: ServerState) -> None:
    """Keep the embedded store's views inside their TTL: at start-up if one is past half of it, then
    every ``feature_refresh_interval_s``."""
    await anyio.to_thread.run_sync(partial(state.refresh_features, only_if_due=True))
    while True:
        await asyncio.sleep(state.settings.feature_refresh_interval_s)
        await anyio.to_thread.run_sync(state.refresh_features)  # off the event loop: requests go on


def _served(state: ServerState) -> str:
    loaded = [f"{s.key}:{s.alias}=v{s.current.version}" for s in state.slots.slots() if s.current]
    return ", ".join(loaded) or "none"


def redacting_filter() -> RedactingFilter:
    """A log filter masking PII, for loggers outside ``nivesh_ml`` (uvicorn's)."""
    redacting = RedactingFilter()
    redacting.redactors.append(redact)
    return redacting


def uvicorn_log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's loggers on stderr, PII-masked, JSON unless ``log_format`` is ``text``."""
    formatter: dict[str, Any] = (
        {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
        if settings.log_format == "text"
        else {"()": JsonFormatter}
    )
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "default",
        "filters": ["redact"],
    }
    loggers = {name: {"handlers": ["stderr"], "level": settings.log_level, "propagate": False}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")}  # fmt: skip
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": redacting_filter}},
        "formatters": {"default": formatter},
        "handlers": {"stderr": handler},
        "loggers": loggers,
    }


def serve(settings: Settings, *, config: ServingConfig | None = None) -> None:
    """Serve the models on ``settings.host:settings.port`` until interrupted (``nivesh-ml serve``).

    With ``settings.workers`` above one, uvicorn starts that many processes, each building its
    app from the environment (:func:`app_from_environment`): ``settings`` is handed over as
    ``NIVESH_*`` variables, so a worker sees what this process was given.
    """
    import uvicorn

    HeaderTimeoutProtocol.header_timeout_s = settings.header_timeout_s
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": uvicorn_log_config(settings),
        "timeout_graceful_shutdown": 15,
        "http": HeaderTimeoutProtocol,  # a deadline on request headers (slowloris)
        "server_header": False,  # what serves the API is nobody's business
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings, config=config), **options)
        return
    if config is not None:
        raise ConfigError("a ServingConfig cannot cross into worker processes; set NIVESH_* instead")
    os.environ.update(_as_environment(settings))
    # uvicorn kills a worker that misses a 5 s health ping; loading the models (the assistant's LLM
    # above all) on a busy machine takes longer, and a killed worker starts loading all over again.
    options["timeout_worker_healthcheck"] = WORKER_HEALTHCHECK_S
    uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=settings.workers, **options)


def app_from_environment() -> FastAPI:
    """The app a uvicorn worker process serves: settings from ``NIVESH_*`` (see :func:`serve`).

    A worker is a new process: it sets up the same structured, PII-masked logging as the parent.
    """
    settings = load_settings()
    settings.export_offline_env()
    setup_logging(settings.log_level, settings.log_format)
    HeaderTimeoutProtocol.header_timeout_s = settings.header_timeout_s
    return create_app(settings)


def _as_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as ``NIVESH_*`` variables (JSON for lists and mappings, secrets revealed)."""
    values = settings.model_dump(mode="json")
    values["api_keys"] = [key.get_secret_value() for key in settings.api_keys]
    return {
        f"NIVESH_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }
