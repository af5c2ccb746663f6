"""Cooperative cancellation of work running in a thread.

A thread cannot be stopped from outside, so long work checks a :class:`CancelToken` at points
where stopping is safe (the assistant checks it after every generated token). The server sets
one token per request for the thread that serves it (:func:`cancellable`); the work reads it
with :func:`current_token`, so no model signature carries it. Outside a request the current
token is one that never cancels.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CancelToken", "cancellable", "current_token"]


class CancelToken:
    """Set once when the work should stop: its client went away or its time ran out."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str) -> None:
        """Ask the work to stop at its next check."""
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether the work should stop."""
        return self._event.is_set()


_NEVER = CancelToken()
_local = threading.local()


def current_token() -> CancelToken:
    """The token of the work this thread is doing (one that never cancels outside a request)."""
    token = getattr(_local, "token", None)
    return token if isinstance(token, CancelToken) else _NEVER


@contextmanager
def cancellable(token: CancelToken) -> Iterator[CancelToken]:
    """Make ``token`` this thread's current token for the block."""
    previous = getattr(_local, "token", None)
    _local.token = token
    try:
        yield token
    finally:
        _local.token = previous
