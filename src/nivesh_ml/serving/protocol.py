"""uvicorn's HTTP protocol with a deadline on request headers (slowloris).

uvicorn closes a keep-alive connection that stays idle, but a client that opens a connection
and sends its headers a byte at a time holds it for as long as it likes. Here a request's
headers must be complete within ``header_timeout_s`` of the connection opening (or of the
request's first byte, on a kept-alive connection); otherwise the server answers 408 and
closes. A slow *body* is the request guard's business (``serving/guard.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["DEFAULT_HEADER_TIMEOUT_S", "HeaderTimeoutProtocol"]

DEFAULT_HEADER_TIMEOUT_S = 10.0
_TIMEOUT_BODY = b'{"error": "request_timeout", "message": "the request headers took too long to arrive"}'
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_TIMEOUT_BODY)}\r\n\r\n".encode()
    + _TIMEOUT_BODY
)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that answers 408 when a request's headers are too slow."""

    header_timeout_s = DEFAULT_HEADER_TIMEOUT_S  # set by serve() from Settings.header_timeout_s

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()
