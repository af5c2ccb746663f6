"""The error responses each kind of route documents in OpenAPI."""

from __future__ import annotations

from typing import Any

from nivesh_ml.serving.schemas import ErrorBody

__all__ = ["ADMIN_ERRORS", "KEY_ERRORS", "PREDICT_ERRORS", "USER_ERRORS"]

_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
}


def _errors(*pairs: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": text} for status, text in pairs}


KEY_ERRORS = _errors(
    (401, "Missing, unknown or revoked API key."),
    (403, "The key lacks the route's scope."),
    (429, "Rate limit reached, or too many refused keys from this client; see Retry-After."),
    (503, "A part the route needs is unavailable (the message says which); see Retry-After when given."),
)
KEY_ERRORS[429]["headers"] = KEY_ERRORS[503]["headers"] = _RETRY_AFTER
_POST_ERRORS = _errors(
    (400, "The body is not UTF-8 JSON, or the model cannot serve its content."),
    (413, "The body is over 1 MiB."),
    (422, "The body does not match the schema; `problems` lists every field that failed."),
)
ADMIN_ERRORS = {**KEY_ERRORS, **_POST_ERRORS}
PREDICT_ERRORS = {
    **ADMIN_ERRORS,
    **_errors(
        (500, "The model failed on this request."),
        (503, "The model is not loaded, or its route is saturated or too slow (see Retry-After)."),
    ),
}
PREDICT_ERRORS[503]["headers"] = _RETRY_AFTER
USER_ERRORS = {
    **PREDICT_ERRORS,
    **_errors(
        (404, "The online store has no fresh features for this user."),
        (503, "The model is not loaded; its route is saturated or too slow (see Retry-After); or the "
         "feature view it needs expired (the message names it) or the store holds no features."),
    ),
}  # fmt: skip
USER_ERRORS[503]["headers"] = _RETRY_AFTER
