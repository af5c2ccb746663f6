"""The first thing a request meets: a body size cap and the API key, before any body is read.

A pure ASGI middleware in front of the routes:

- **Size**: a body above ``max_body_bytes`` is answered 413 without being read (by its
  ``Content-Length``, or, for a chunked body, as soon as the bytes received pass the cap).
- **Time**: a body that has not fully arrived within ``body_timeout_s`` is answered 408.
- **Key**: a ``POST`` must carry an ``X-API-Key`` the server accepts, checked before its body is
  parsed (401 otherwise), so a caller without a key learns nothing from our validation errors.
  A client address sending too many refused keys gets 429; a key only the app DB could check
  while the DB is unreachable gets 503 with ``Retry-After`` (``serving/keys.py``).
  The accepted principal is handed to the routes' dependencies (``serving/deps.py``) in the
  request state, so the key is checked once; scopes and rate limits stay with them.
"""

from __future__ import annotations

import json
from functools import partial

import anyio
from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nivesh_ml.errors import DatabaseError
from nivesh_ml.serving.errors import AuthError, RateLimitedError, error_body, status_for
from nivesh_ml.serving.state import ServerState

__all__ = ["BODY_TIMEOUT_S", "MAX_BODY_BYTES", "PRINCIPAL", "RequestGuard", "SecureHeaders"]

PRINCIPAL = "nivesh_principal"  # request-state key of the principal the guard accepted
MAX_BODY_BYTES = 1 << 20  # 1 MiB: the longest chat or batch a client sends is far below it
BODY_TIMEOUT_S = 10.0  # a whole body within this, or 408 (a client trickling a body holds a worker)


class RequestGuard:
    """Refuses oversized (413), slow (408) and keyless or unknown-key POSTs (401) before routing."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES, body_timeout_s: float = BODY_TIMEOUT_S
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await _answer(send, 413, self._too_large)
            return
        refusal = await _refuse_key(scope, headers.get("x-api-key"))
        if refusal is not None:
            await _answer(send, status_for(refusal), str(refusal), getattr(refusal, "headers", None))
            return
        await _Body(self, receive, send).run(scope)

    @property
    def _too_large(self) -> str:
        return f"the body is over {self.max_body_bytes} bytes; send less"


# Answers hold users' scores and features: never cached on the way, never sniffed as another type.
SECURE_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


class SecureHeaders:
    """Adds :data:`SECURE_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURE_HEADERS]
            await send(message)

        await self.app(scope, receive, secured)


class _Body:
    """One POST's body on its way in: capped in size and in time.

    When the cap or the deadline is hit, the guard answers (413 or 408) and the app sees the
    client leave; whatever the app then tries to send or raises is dropped, so a refused body
    costs one log-free answer, not tracebacks.
    """

    def __init__(self, guard: RequestGuard, receive: Receive, send: Send) -> None:
        self.guard, self._receive, self._send = guard, receive, send
        self.seen, self.complete, self.answered = 0, False, False

    async def run(self, scope: Scope) -> None:
        try:
            await self.guard.app(scope, self.receive, self.send)
        except Exception:
            if not self.answered:
                raise

    async def send(self, message: Message) -> None:
        if not self.answered:
            await self._send(message)

    async def receive(self) -> Message:
        if self.answered:
            return {"type": "http.disconnect"}
        if self.complete:  # after the body only a disconnect can come: no deadline on waiting for it
            return await self._receive()
        with anyio.move_on_after(self.guard.body_timeout_s) as deadline:
            message = await self._receive()
        if deadline.cancelled_caught:
            return await self._refuse(408, f"the body took over {self.guard.body_timeout_s:g} s to arrive")
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.seen > self.guard.max_body_bytes:
                return await self._refuse(413, self.guard._too_large)
        return message

    async def _refuse(self, status: int, message: str) -> Message:
        await _answer(self._send, status, message, {"Connection": "close"})
        self.answered = True
        return {"type": "http.disconnect"}


async def _refuse_key(scope: Scope, key: str | None) -> AuthError | RateLimitedError | DatabaseError | None:
    """Why the key is refused, or None when it is accepted (or the server is still starting)."""
    app = scope.get("app")
    state = getattr(getattr(app, "state", None), "nivesh", None)
    if not isinstance(state, ServerState):
        return None  # the route answers 503 while the server starts
    try:
        principal = state.keys.without_db(key)
        if principal is None:
            client = scope["client"][0] if scope.get("client") else None
            principal = await to_thread.run_sync(partial(state.keys.with_db, key, client))
    except (AuthError, RateLimitedError) as error:
        state.metrics.auth_failures.labels(type(error).__name__).inc()
        return error
    except DatabaseError as error:  # the app DB is away and the key is not known: 503, logged by keys.py
        return error
    scope.setdefault("state", {})[PRINCIPAL] = principal  # request.state.<PRINCIPAL> in the routes
    return None


async def _answer(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(error_body(status, message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
