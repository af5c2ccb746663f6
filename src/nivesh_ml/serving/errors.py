"""The model server's errors and the one place an error becomes an HTTP status.

The server's own errors extend the platform's hierarchy (``nivesh_ml.errors``)::

    NiveshError
    └── ServingError                 a request the server cannot answer as asked
        ├── BadInputError            400: the body parses but makes no sense (also DataError)
        ├── AuthError                401: no key, an unknown key, a revoked key
        ├── ForbiddenError           403: the key lacks the route's scope
        ├── NotFoundError            404
        │   ├── UnknownUserError         no online features for the user
        │   └── UnknownPredictionError   feedback for a prediction id never logged
        ├── RateLimitedError         429, with Retry-After and X-RateLimit-* headers
        ├── ModelUnavailableError    503: the route's model is not loaded (with the reason)
        └── ModelFailedError         500: the model raised, or answered outside the API

Every :class:`~nivesh_ml.errors.NiveshError` maps by :data:`STATUS_BY_ERROR` (nearest class in
the MRO wins) to ``{"error": <code>, "message": <one line>}``; anything else is a 500 whose
traceback is logged (PII-redacted, as every log line) and never sent to the client.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from nivesh_ml.errors import (
    ConfigError,
    DatabaseError,
    DataError,
    FeatureStoreError,
    ModelNotFoundError,
    NiveshError,
    OnlineStoreUnavailable,
    TrackingError,
)
from nivesh_ml.log import get_logger

__all__ = [
    "STATUS_BY_ERROR",
    "AuthError",
    "BadInputError",
    "ForbiddenError",
    "ModelFailedError",
    "ModelUnavailableError",
    "NotFoundError",
    "RateLimitedError",
    "ServingError",
    "UnknownPredictionError",
    "UnknownUserError",
    "error_body",
    "install_error_handlers",
    "status_for",
]

log = get_logger(__name__)


class ServingError(NiveshError):
    """A request the model server cannot answer as asked."""

    headers: dict[str, str] | None = None


class BadInputError(ServingError):
    """The request parses but its content cannot be served."""


class AuthError(ServingError):
    """No API key, an unknown one, or a revoked one."""

    headers = {"WWW-Authenticate": "APIKey"}  # noqa: RUF012 (read-only class default)


class ForbiddenError(ServingError):
    """The API key lacks the scope the route needs."""


class NotFoundError(ServingError):
    """The thing the request names does not exist."""


class UnknownUserError(NotFoundError):
    """The online store holds no fresh features for the user."""


class UnknownPredictionError(NotFoundError):
    """Feedback names a prediction id that was never logged."""


class RateLimitedError(ServingError):
    """The key used up its rate limit; ``headers`` say when to come back."""

    def __init__(self, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.headers = headers


class ModelUnavailableError(ServingError):
    """The route's model is not loaded (never registered, or failed to load)."""


class ModelFailedError(ServingError):
    """The model raised, or answered in a shape the API does not allow."""


STATUS_BY_ERROR: dict[type[Exception], int] = {
    BadInputError: 400,
    DataError: 400,
    AuthError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    RateLimitedError: 429,
    ModelFailedError: 500,
    ConfigError: 500,
    ModelUnavailableError: 503,
    ModelNotFoundError: 503,
    TrackingError: 503,
    OnlineStoreUnavailable: 503,
    FeatureStoreError: 503,
    DatabaseError: 503,
    NiveshError: 500,
}

_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def status_for(error: Exception) -> int:
    """The HTTP status of an error: its nearest class in :data:`STATUS_BY_ERROR`, else 500."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"error": _CODES.get(status, "error"), "message": message, **extra}


async def _nivesh_error(request: Request, error: Exception) -> JSONResponse:
    status = status_for(error)
    if status >= 500:  # 503s repeat for as long as a model is missing: debug, /ready tells the story
        level = logging.DEBUG if status == 503 else logging.WARNING
        log.log(level, "%s %s answered %d: %s", request.method, request.url.path, status, error)
    headers = getattr(error, "headers", None)
    return JSONResponse(error_body(status, str(error)), status_code=status, headers=headers)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # nosec B101  # narrows for mypy; registered for it
    problems = [_problem(item) for item in error.errors()]
    if any(item["type"] == "json_invalid" for item in problems):
        return JSONResponse(error_body(400, "the request body is not valid JSON"), status_code=400)
    first = problems[0] if problems else {"where": "body", "message": "invalid request"}
    message = f"{first['where']}: {first['message']}"
    return JSONResponse(error_body(422, message, problems=problems), status_code=422)


def _problem(item: Any) -> dict[str, str]:
    # The input itself is left out: the client has it, and it may hold PII.
    where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
    return {"where": where, "message": str(item.get("msg", "")), "type": str(item.get("type", ""))}


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    trace = "".join(traceback.format_exception(error))
    log.error("unhandled error in %s %s", request.method, request.url.path, extra={"traceback": trace})
    return JSONResponse(error_body(500, "internal error; see the server log"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping above on ``app``."""
    app.add_exception_handler(NiveshError, _nivesh_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
