"""One logging set-up: JSON lines when not on a terminal, readable lines (rich) on one.

Every record passes through :class:`RedactingFilter` before it is written. Its redactors
are plain ``str -> str`` callables; the PII redaction of the model server plugs in with
:func:`add_redactor`, so a phone number in a log line is masked wherever it came from.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["JsonFormatter", "RedactingFilter", "add_redactor", "get_logger", "setup_logging"]

Redactor = Callable[[str], str]

_ROOT = "nivesh_ml"
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and string extras) through every registered redactor."""

    def __init__(self) -> None:
        super().__init__()
        self.redactors: list[Redactor] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactors:
            return True
        record.msg = self._apply(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self._apply(value))
        return True

    def _apply(self, text: str) -> str:
        for redact in self.redactors:
            text = redact(text)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


_filter = RedactingFilter()


def add_redactor(redactor: Redactor) -> None:
    """Register a ``str -> str`` function that every log message passes through."""
    if redactor not in _filter.redactors:
        _filter.redactors.append(redactor)


def setup_logging(level: str = "INFO", fmt: Literal["auto", "json", "text"] = "auto") -> None:
    """Configure the ``nivesh_ml`` logger tree once; calling it again replaces the handler."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler: logging.Handler
    if use_json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=True, console=_stderr_console())
    handler.addFilter(_filter)
    root = logging.getLogger(_ROOT)
    root.handlers = [handler]
    root.setLevel(level)
    root.propagate = False


def get_logger(name: str) -> logging.Logger:
    """A logger under the ``nivesh_ml`` tree (pass ``__name__``)."""
    return logging.getLogger(name if name.startswith(_ROOT) else f"{_ROOT}.{name}")


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)
