"""The error responses each kind of route documents in OpenAPI."""

from __future__ import annotations

from typing import Any

from nivesh_ml.serving.schemas import ErrorBody

__all__ = ["ADMIN_ERRORS", "KEY_ERRORS", "PREDICT_ERRORS", "USER_ERRORS"]


def _errors(*pairs: tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody, "description": text} for status, text in pairs}


KEY_ERRORS = _errors(
    (401, "Missing, unknown or revoked API key."),
    (403, "The key lacks the route's scope."),
    (429, "Rate limit reached; see Retry-After."),
)
ADMIN_ERRORS = KEY_ERRORS
PREDICT_ERRORS = {
    **KEY_ERRORS,
    **_errors(
        (400, "The body is not JSON, or the model cannot serve its content."),
        (422, "The body does not match the schema."),
        (500, "The model failed on this request."),
        (503, "The model is not loaded (the message says why)."),
    ),
}
USER_ERRORS = {**PREDICT_ERRORS, **_errors((404, "The online store has no fresh features for this user."))}
