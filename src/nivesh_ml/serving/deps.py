"""Typed dependencies of the routes: the server's state, and an API key holding a scope.

``PredictKey``, ``AdminKey`` and ``AnyKey`` authenticate the ``X-API-Key`` header, check the
scope, count the request against the key's rate limit and set the ``X-RateLimit-*`` headers.
A key only the app DB could check while the DB is unreachable is a 503 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

from anyio import to_thread
from fastapi import Depends, Request, Response, Security
from fastapi.security import APIKeyHeader

from nivesh_ml.serving.errors import AuthError, ForbiddenError, ModelUnavailableError, RateLimitedError
from nivesh_ml.serving.guard import PRINCIPAL
from nivesh_ml.serving.keys import Principal
from nivesh_ml.serving.state import ServerState

__all__ = ["AdminKey", "AnyKey", "PredictKey", "StateDep", "get_state"]

_api_key = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="An API key (`nivesh-ml keys create NAME`), or one of NIVESH_API_KEYS.",
    auto_error=False,
)


async def get_state(request: Request) -> ServerState:
    """The running server's state (503 while it is still starting)."""
    state = getattr(request.app.state, "nivesh", None)
    if not isinstance(state, ServerState):
        raise ModelUnavailableError("the server is starting; try again in a moment")
    return state


StateDep = Annotated[ServerState, Depends(get_state)]


def _key_with(scope: str | None) -> Callable[..., Awaitable[Principal]]:
    # Async, so the common case (a static or cached key, limits in memory) costs no thread hop;
    # the database and Redis are only called from a worker thread.
    async def check(
        request: Request,
        state: StateDep,
        response: Response,
        key: Annotated[str | None, Security(_api_key)] = None,
    ) -> Principal:
        try:
            # a POST's key was already checked by the guard (serving/guard.py), before its body
            principal = getattr(request.state, PRINCIPAL, None) or state.keys.without_db(key)
            if principal is None:
                client = request.client.host if request.client else None
                principal = await to_thread.run_sync(partial(state.keys.with_db, key, client))
            state.keys.authorize(principal, scope)
        except (AuthError, ForbiddenError, RateLimitedError) as error:
            state.metrics.auth_failures.labels(type(error).__name__).inc()
            raise
        hit = partial(state.limiter.hit, principal.key_id, principal.name)
        status = hit() if state.limiter.in_memory else await to_thread.run_sync(hit)
        if status is not None:
            response.headers.update(status.headers())
        return principal

    return check


PredictKey = Annotated[Principal, Depends(_key_with("predict"))]
AdminKey = Annotated[Principal, Depends(_key_with("admin"))]
AnyKey = Annotated[Principal, Depends(_key_with(None))]
