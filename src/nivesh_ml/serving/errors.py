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
        ├── RouteBusyError           503: the route is saturated or too slow, with Retry-After
        ├── ClientGoneError          499: the client left before the answer (never seen by it)
        └── ModelFailedError         500: the model raised, or answered outside the API

    DatabaseError (nivesh_ml.errors)
    └── KeysUnavailableError         503 with Retry-After: only the unreachable app DB could check the key

Every :class:`~nivesh_ml.errors.NiveshError` maps by :data:`STATUS_BY_ERROR` (nearest class in
the MRO wins) to ``{"error": <code>, "message": <one line>}``; anything else is a 500 whose
traceback is logged (PII-redacted, as every log line) and never sent to the client.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from nivesh_ml.errors import (
    ConfigError,
    DatabaseError,
    DataError,
    FeatureStoreError,
    ModelNotFoundError,
    NiveshError,
    OnlineStoreUnavailable,
    RequestCancelled,
    TrackingError,
)
from nivesh_ml.log import get_logger

__all__ = [
    "STATUS_BY_ERROR",
    "AuthError",
    "BadInputError",
    "ClientGoneError",
    "ForbiddenError",
    "KeysUnavailableError",
    "ModelFailedError",
    "ModelUnavailableError",
    "NotFoundError",
    "RateLimitedError",
    "RouteBusyError",
    "ServingError",
    "UnknownPredictionError",
    "UnknownUserError",
    "error_body",
    "install_error_handlers",
    "public_text",
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


class RouteBusyError(ServingError):
    """The route's threads and queue are full, or it did not answer in time; ``headers`` say when to retry."""

    def __init__(self, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.headers = headers


class ClientGoneError(ServingError):
    """The client disconnected before its answer was ready (nginx's 499: nobody reads it)."""


class KeysUnavailableError(DatabaseError):
    """503: the key could only be checked against the app DB, which cannot answer; says when to retry."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


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
    RouteBusyError: 503,
    ClientGoneError: 499,
    ModelNotFoundError: 503,
    RequestCancelled: 503,
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
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limited",
    499: "client_closed_request",
    500: "internal_error",
    503: "unavailable",
}


def status_for(error: Exception) -> int:
    """The HTTP status of an error: its nearest class in :data:`STATUS_BY_ERROR`, else 500."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


# What a client must never read in a message: where things live and what raised.
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"),;]+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w/.:])(?:~|\.{1,2})?(?:/[\w.@+-]+){2,}/?")
_QUALIFIED = re.compile(r"\(?\b(?:[a-z_][\w]*\.)+[A-Z]\w*(?:Error|Exception|Warning)\b\)?:?\s*")
_CLASS = re.compile(r"\(?\b[A-Z]\w*(?:Error|Exception)\b\)?:?\s*")
_HOST = re.compile(
    r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[0-9a-f:]+\])(?::\d+)?\b|\bport\s+\d+\b",
    re.IGNORECASE,
)
_SQL_TAIL = re.compile(r"\s*\(Background on this error at:.*$|\s*\[SQL:.*$", re.DOTALL)


def public_text(message: str) -> str:
    """``message`` with URLs, file paths and exception class names replaced, for clients to read.

    The full text stays in the server log; a client learns what went wrong, not where things live.
    """
    text = _SQL_TAIL.sub("", message)
    text = _URL.sub("<url>", text)
    text = _PATH.sub("<path>", text)
    text = _HOST.sub("<host>", text)
    text = re.sub(r'"?<host>"?(?:,?\s*<host>)*', "<host>", text)  # a host then its port: one mark
    text = _QUALIFIED.sub("", text)
    text = _CLASS.sub("", text)
    return " ".join(text.split()) or "unavailable"


def error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON body of every error response (its message made public: :func:`public_text`)."""
    return {"error": _CODES.get(status, "error"), "message": public_text(message), **extra}


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


# A location part naming a union member (``CreditFeatures``, ``function-after[...]``), not a field.
_UNION_TAG = re.compile(r"^[A-Z]\w*$|[\[\]()]|^constrained-|^(?:str|int|float|bool|list|dict|none)$")


def _problem(item: Any) -> dict[str, str]:
    # The input itself is left out: the client has it, and it may hold PII.
    parts = [str(part) for part in item.get("loc", ()) if part != "body"]
    where = ".".join(part for part in parts if not _UNION_TAG.search(part)) or "body"
    return {"where": where, "message": str(item.get("msg", "")), "type": str(item.get("type", ""))}


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    # Starlette's own refusals (404 no route, 405 wrong method, 400 unreadable body) in our shape.
    assert isinstance(error, StarletteHTTPException)  # nosec B101  # narrows for mypy; registered for it
    message = _HTTP_MESSAGES.get(error.status_code, str(error.detail))
    return JSONResponse(
        error_body(error.status_code, message), status_code=error.status_code, headers=error.headers
    )


_HTTP_MESSAGES = {
    400: "the request body cannot be read: send UTF-8 JSON",
    404: "no such route; see /docs for the API",
    405: "this route does not take that method; see /docs for the API",
}


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    trace = "".join(traceback.format_exception(error))
    log.error("unhandled error in %s %s", request.method, request.url.path, extra={"traceback": trace})
    return JSONResponse(error_body(500, "internal error; see the server log"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping above on ``app``."""
    app.add_exception_handler(NiveshError, _nivesh_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
