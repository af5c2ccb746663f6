"""Everything a running server holds, opened at start-up and closed at shutdown."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from nivesh_ml.config import Settings
from nivesh_ml.db.app import app_engine
from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.definitions import FEATURE_VIEWS
from nivesh_ml.features.online import OnlineStore, make_online_store
from nivesh_ml.features.refresh import expired_views, refresh, view_ages
from nivesh_ml.log import get_logger
from nivesh_ml.serving.bulkhead import Bulkheads
from nivesh_ml.serving.config import ServingConfig
from nivesh_ml.serving.errors import public_text
from nivesh_ml.serving.keys import KeyChecker
from nivesh_ml.serving.metrics import ServerMetrics
from nivesh_ml.serving.predlog import PredictionLog
from nivesh_ml.serving.ratelimit import RateLimiter
from nivesh_ml.serving.slots import ModelSlots, ReloadResult
from nivesh_ml.serving.traffic import ShadowRunner, TrafficRouter
from nivesh_ml.tracking.loading import clear_cache

__all__ = ["EMPTY_STORE_HINT", "ServerState"]

log = get_logger(__name__)

EMPTY_CHECK_INTERVAL_S = 5.0  # how stale the "is the online store empty?" answer may be
AGE_CHECK_INTERVAL_S = 5.0  # how stale the views' refresh times may be (ages still count up)
EMPTY_STORE_HINT = "an online store restarted without its data holds none until materialised again"

# A registry server that is down should cost the poller seconds, not MLflow's default minutes
# of retries; set only where the environment has not chosen.
REGISTRY_HTTP_ENV: dict[str, str] = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


@dataclass
class ServerState:
    """The server's parts: models, traffic, features, keys, limits, the prediction log, metrics."""

    settings: Settings
    config: ServingConfig
    metrics: ServerMetrics
    engine: Callable[[], Engine]
    slots: ModelSlots
    router: TrafficRouter
    store: OnlineStore | None
    store_error: str | None
    keys: KeyChecker
    limiter: RateLimiter
    predlog: PredictionLog
    shadow: ShadowRunner
    bulkheads: Bulkheads
    _empty_checked: tuple[float, list[str]] | None = field(default=None, repr=False)
    _ages_checked: tuple[float, float, dict[str, float | None]] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, config: ServingConfig, metrics: ServerMetrics) -> ServerState:
        """Open every part and load the models; a part that cannot open is reported, not fatal."""
        settings.export_offline_env()
        for name, value in REGISTRY_HTTP_ENV.items():
            os.environ.setdefault(name, value)

        def engine() -> Engine:
            return app_engine(settings)

        store, store_error = _open_store(settings, metrics)
        slots = ModelSlots(settings, metrics)
        state = cls(
            settings=settings,
            config=config,
            metrics=metrics,
            engine=engine,
            slots=slots,
            router=TrafficRouter(slots, engine),
            store=store,
            store_error=store_error,
            keys=KeyChecker(settings, cache_ttl_s=config.key_cache_ttl_s, engine=engine),
            limiter=RateLimiter(settings, metrics, prefix=config.rate_limit_prefix),
            predlog=PredictionLog(settings, metrics, config, engine=engine),
            shadow=ShadowRunner(metrics, config.shadow_queue_size),
            bulkheads=Bulkheads(config.route_limits, metrics),
        )
        state.predlog.start()
        state.reload()
        metrics.track_view_ages(state.view_ages, {str(v.key): v.ttl.total_seconds() for v in FEATURE_VIEWS})
        return state

    def reload(self, *, force: bool = False) -> list[ReloadResult]:
        """Follow the registry's aliases (load what moved), then re-read the canary/shadow plans."""
        try:
            results = self.slots.refresh(force=force)
        except Exception as error:  # the registry itself failed: keep serving what is loaded
            log.error("cannot reach the model registry; serving what is loaded: %s", error)
            return []
        self.router.refresh()
        return results

    def clear_caches(self) -> dict[str, int]:
        """Forget cached model loads and accepted keys; the served models stay."""
        clear_cache()
        return {"api_keys": self.keys.clear()}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether every registered champion is loaded and every store answers, part by part.

        The ``registry`` part is informational: loaded models keep serving while it is away.
        """
        models = self._models_report()
        parts: dict[str, Any] = {
            "models": models,
            "online_store": self._store_report(),
            "database": self._database_report(),
            "rate_limit": dict(zip(("ok", "detail"), self.limiter.healthy(), strict=True)),
            "registry": {
                "ok": self.slots.registry_error is None,
                "detail": self.slots.registry_error or "ok",
            },
        }
        ready = all(item["ok"] for item in models.values()) and all(
            parts[name]["ok"] for name in ("online_store", "database", "rate_limit")
        )
        return ready, _public(parts)

    def _models_report(self) -> dict[str, dict[str, Any]]:
        report: dict[str, dict[str, Any]] = {}
        for slot in self.slots.slots():
            if slot.alias != "champion":
                continue
            loaded = slot.current is not None
            # A model nobody registered yet does not hold readiness back; one that fails to load does,
            # and so does one we cannot know about because the registry is not answering.
            ok = loaded or (slot.registered is None and self.slots.registry_error is None)
            version = slot.current.version if slot.current else None
            report[slot.key] = {"ok": ok, "loaded": loaded, "version": version, "error": slot.error}
        return report

    def _store_report(self) -> dict[str, Any]:
        if self.store is None:
            return {"ok": False, "detail": self.store_error}
        health = self.store.health()
        if not health.ok:
            self.store_failed()
            return {"ok": False, "backend": health.backend, "detail": health.detail}
        try:
            empty, ages = self.empty_views(), self.view_ages()
        except FeatureStoreError as error:  # it failed between the probe and the scan
            self.store_failed()
            return {"ok": False, "backend": health.backend, "detail": str(error)}
        expired = expired_views(ages)
        views = {"empty_views": empty, "expired_views": expired, "view_age_s": ages}
        if len(empty) == len(FEATURE_VIEWS):  # e.g. Redis restarted empty: every user would be unknown
            detail = f"holds no features; run `nivesh-ml features materialize` ({EMPTY_STORE_HINT})"
            return {"ok": False, "backend": health.backend, "detail": detail, **views}
        if expired:  # the routes that read them answer 503 naming them; the others serve on
            detail = f"expired views: {', '.join(expired)}; run `nivesh-ml features refresh`"
            return {"ok": True, "backend": health.backend, "detail": detail, **views}
        return {"ok": True, "backend": health.backend, "detail": health.detail, **views}

    def store_failed(self) -> None:
        """Forget whether the store held features: a store that failed may come back without them."""
        self._empty_checked = None
        self._ages_checked = None

    def view_ages(self) -> dict[str, float | None]:
        """Seconds since each view was last materialised or refreshed (None: never recorded), from
        refresh times re-read every few seconds."""
        if self.store is None:
            return dict.fromkeys((str(view.key) for view in FEATURE_VIEWS), None)
        now, wall = time.monotonic(), time.time()
        if self._ages_checked is None or now - self._ages_checked[0] > AGE_CHECK_INTERVAL_S:
            self._ages_checked = (now, wall, view_ages(self.store, as_of=datetime.fromtimestamp(wall, UTC)))
        _, read_at, ages = self._ages_checked
        return {view: None if age is None else round(age + wall - read_at, 1) for view, age in ages.items()}

    def expired_views(self) -> list[str]:
        """The views whose age has reached their TTL: every row of theirs reads as missing."""
        return expired_views(self.view_ages())

    def refresh_features(self, *, only_if_due: bool = False) -> None:
        """Refresh every online view (the server's background job); logged and counted, never raised.

        With ``only_if_due``, only when a view is past half its TTL (a server started after a stop).
        """
        if only_if_due and not self._refresh_due():
            return
        try:
            if self.store is None:
                raise FeatureStoreError(self.store_error or "the online feature store is not open")
            reports = refresh(self.settings, self.store, as_of=datetime.now(UTC))
        except Exception as error:  # the next run tries again; /ready and the age gauge tell meanwhile
            self.metrics.feature_refreshes.labels("error").inc()
            log.error("feature refresh failed: %s", error)
            return
        finally:
            self.store_failed()  # re-read emptiness and ages
        self.metrics.feature_refreshes.labels("ok").inc()
        done = {report.view: {"written": report.written, "extended": report.extended} for report in reports}
        log.info("feature views refreshed", extra={"views": done})

    def empty_views(self) -> list[str]:
        """The feature views without a single fresh row online (re-checked every few seconds, and
        after the store was seen failing)."""
        if self.store is None:
            return [str(view.key) for view in FEATURE_VIEWS]
        now = time.monotonic()
        if self._empty_checked is None or now - self._empty_checked[0] > EMPTY_CHECK_INTERVAL_S:
            store = self.store
            empty = [
                str(view.key)
                for view in FEATURE_VIEWS
                if next(iter(store.entity_ids(view.key)), None) is None
            ]
            self._empty_checked = (now, empty)
        return self._empty_checked[1]

    def _refresh_due(self) -> bool:
        try:
            ages = self.view_ages()
        except FeatureStoreError:
            return True  # let the refresh itself fail, counted and logged
        ttls = {str(view.key): view.ttl.total_seconds() for view in FEATURE_VIEWS}
        return any(age is not None and age >= ttls[view] / 2 for view, age in ages.items())

    def _database_report(self) -> dict[str, Any]:
        try:
            with self.engine().connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # a probe reports every failure
            return {"ok": False, "detail": str(error)}
        return {"ok": True, "detail": "ok"}

    def close(self) -> None:
        """Stop the routes' threads and the shadow's, write the prediction log out, release the store."""
        self.bulkheads.close()
        self.shadow.close()
        self.predlog.close(self.config.shutdown_flush_timeout_s)
        if self.store is not None:
            self.store.close()


def _open_store(settings: Settings, metrics: ServerMetrics) -> tuple[OnlineStore | None, str | None]:
    try:
        return make_online_store(settings, registry=metrics.registry), None
    except Exception as error:  # routes that need features answer 503 with this reason
        log.error("the online feature store cannot open: %s", error)
        return None, f"the online feature store cannot open: {error}"


def _public(report: dict[str, Any]) -> dict[str, Any]:
    """``report`` with every ``detail`` and ``error`` text made fit for a client (no paths or URLs)."""
    return {
        key: _public(value)
        if isinstance(value, dict)
        else public_text(value)
        if key in ("detail", "error") and isinstance(value, str)
        else value
        for key, value in report.items()
    }
