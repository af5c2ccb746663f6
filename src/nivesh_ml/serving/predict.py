"""The one hot path every prediction route takes.

features (online store, when the route reads them) -> route (champion, or challenger for a
canary's share) -> ``serve(request)`` -> the typed answer with ``prediction_id`` and
``model_version`` -> the prediction log (queued, never waited for) -> the shadow, if any.

The contract with a model's ``serve``: it gets a JSON-like dict (the request body; plus
``"features"``, the user's online features by view, ``{"<view>:v<n>": {...}}``, on the routes
that read them) and returns a dict with the route's documented fields. It raises
:class:`~nivesh_ml.errors.DataError` for input it cannot serve (answered 400); anything else it
raises is answered 500 and logged, as is an answer outside the API.
"""

from __future__ import annotations

import copy
import time
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, NoReturn, TypeVar

from pydantic import ValidationError
from starlette.requests import Request

from nivesh_ml.db.models import utcnow
from nivesh_ml.errors import DataError, OnlineStoreUnavailable, RequestCancelled
from nivesh_ml.features.definitions import FEATURE_VIEWS, get_view
from nivesh_ml.features.lookup import fresh_rows, no_features_message
from nivesh_ml.log import get_logger
from nivesh_ml.serving.errors import ModelFailedError, UnknownUserError
from nivesh_ml.serving.predlog import PredictionRecord
from nivesh_ml.serving.schemas import PredictionResponse
from nivesh_ml.serving.slots import ServedModel
from nivesh_ml.serving.state import EMPTY_STORE_HINT, ServerState

__all__ = ["MODEL_VIEWS", "predict", "respond", "user_features"]

log = get_logger(__name__)

R = TypeVar("R", bound=PredictionResponse)

# The online view each model cannot answer a user_id without, by model key.
MODEL_VIEWS: dict[str, tuple[str, ...]] = {
    "spending": (str(get_view("spending_patterns").key),),
    "anomaly": (str(get_view("transaction_stats").key),),
    "credit-risk": (str(get_view("user_financial_profile").key),),
}
_REFRESH_HINT = "run `nivesh-ml features refresh`"


def user_features(state: ServerState, user_id: str, needs: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """The user's fresh online features by view, every view of ``needs`` among them.

    404 for a user no view knows while the views are fresh; 503 naming the views when a view of
    ``needs`` has no fresh row for a known user, or has expired as a whole; 503 when the store
    holds no features at all (it lost its data), never a silent 404.
    """
    if state.store is None:
        raise OnlineStoreUnavailable(state.store_error or "the online feature store is not open")
    try:
        found = fresh_rows(state.store, user_id)
        missing = [view for view in needs if view not in found]
        if found and not missing:
            return found
        _refuse(state, user_id, found, missing)
    except OnlineStoreUnavailable:
        state.store_failed()  # it may come back empty: then a miss is not an unknown user
        raise


def _refuse(state: ServerState, user_id: str, found: Mapping[str, Any], needs: Sequence[str]) -> NoReturn:
    if found:  # a known user without a needed view's row: it expired (or was never materialised)
        raise OnlineStoreUnavailable(f"{_views(needs)} expired for this user; {_REFRESH_HINT}")
    if len(state.empty_views()) == len(FEATURE_VIEWS):  # nobody is known: the store lost its data
        raise OnlineStoreUnavailable(f"the online feature store holds no features ({EMPTY_STORE_HINT})")
    gone = set(state.empty_views()) | set(state.expired_views())
    stale = [view for view in needs if view in gone]
    if stale:  # the view expired for everyone: this user may well be known
        raise OnlineStoreUnavailable(f"{_views(stale)} expired; {_REFRESH_HINT}")
    raise UnknownUserError(no_features_message(user_id))


def _views(names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"the online view {names[0]} has"
    return f"the online views {', '.join(names)} have"


def predict(
    state: ServerState,
    key: str,
    request: dict[str, Any],
    answer: type[R],
    *,
    user_id: str | None = None,
    read_features: bool = False,
) -> R:
    """Serve one request with ``key``'s model and log it; see the module docstring.

    With ``read_features`` the user's online features are added to the request as ``"features"``.
    """
    started = time.perf_counter()
    prediction_id = uuid.uuid4()
    route = state.router.route(key, user_id or str(prediction_id))
    if read_features and user_id is not None:
        request["features"] = user_features(state, user_id, MODEL_VIEWS.get(key, ()))
    shadow_request = copy.deepcopy(request) if route.shadow is not None else None
    body = _ask(state, route.served, route.role, request, answer, prediction_id)
    state.predlog.submit(_record(route.served, prediction_id, request, body, user_id, started))
    if route.shadow is not None and shadow_request is not None:
        job = partial(_shadow, state, route.shadow, shadow_request, answer, prediction_id, user_id)
        state.shadow.submit(key, job)
    return body


async def respond(
    http: Request,
    state: ServerState,
    key: str,
    request: dict[str, Any],
    answer: type[R],
    *,
    user_id: str | None = None,
    read_features: bool = False,
) -> R:
    """:func:`predict` on ``key``'s own threads, within the route's limits (``serving/bulkhead.py``)."""
    work = partial(predict, state, key, request, answer, user_id=user_id, read_features=read_features)
    return await state.bulkheads.run(key, work, http)


def _ask(
    state: ServerState,
    served: ServedModel,
    role: str,
    request: dict[str, Any],
    answer: type[R],
    prediction_id: uuid.UUID,
) -> R:
    """The model's answer to ``request``, typed; counts the outcome (ok, bad_input, error)."""
    outcome = "error"
    started = time.perf_counter()
    try:
        body = _typed(answer, _serve(served, request), prediction_id, served)
        outcome = "ok"
        return body
    except DataError:
        outcome = "bad_input"
        raise
    finally:
        state.metrics.model_latency.labels(served.key, role).observe(time.perf_counter() - started)
        state.metrics.predictions.labels(served.key, served.version, role, outcome).inc()


def _serve(served: ServedModel, request: dict[str, Any]) -> Mapping[str, Any]:
    try:
        output = served.serve(request)
    except (DataError, RequestCancelled):
        raise
    except Exception as error:  # a model fault is a 500 for this request, never a crashed server
        log.error(
            "%s v%s raised %s", served.name, served.version, type(error).__name__,
            extra={"traceback": "".join(traceback.format_exception(error))},
        )  # fmt: skip
        raise ModelFailedError(f"{served.name} v{served.version} failed on this request") from None
    if not isinstance(output, Mapping):
        raise ModelFailedError(
            f"{served.name} v{served.version} answered {type(output).__name__}, not a dict"
        )
    return output


def _typed(answer: type[R], output: Mapping[str, Any], prediction_id: uuid.UUID, served: ServedModel) -> R:
    try:
        return answer.model_validate(
            {**output, "prediction_id": prediction_id, "model_version": served.version}
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = f"{served.name} v{served.version} answered outside the API ({where}: {first['msg']})"
        log.error(message)
        raise ModelFailedError(message) from None


def _record(
    served: ServedModel,
    prediction_id: uuid.UUID,
    request: Mapping[str, Any],
    body: PredictionResponse,
    user_id: str | None,
    started: float,
) -> PredictionRecord:
    confidence = getattr(body, "confidence", None)
    return PredictionRecord(
        prediction_id=prediction_id,
        model_key=served.key,
        model_name=served.name,
        version=served.version,
        input_data=request,
        prediction=body.model_dump(mode="json", exclude={"prediction_id"}),
        latency_ms=(time.perf_counter() - started) * 1000,
        created_at=utcnow(),
        user_id=user_id,
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
    )


def _shadow(
    state: ServerState,
    served: ServedModel,
    request: dict[str, Any],
    answer: type[R],
    champion_id: uuid.UUID,
    user_id: str | None,
) -> None:
    started, shadow_id = time.perf_counter(), uuid.uuid4()
    try:
        body = _ask(state, served, "shadow", request, answer, shadow_id)
    except Exception as error:  # the shadow never affects the answer; _ask has counted it
        log.warning("shadow %s v%s failed: %s", served.name, served.version, error)
        return
    record = _record(served, shadow_id, request, body, user_id, started)
    state.predlog.submit(replace(record, prediction={**record.prediction, "shadow_of": str(champion_id)}))
