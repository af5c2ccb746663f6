"""The look-back windows the monitoring commands take (``--window 7d``), in one place."""

from __future__ import annotations

from datetime import timedelta

from nivesh_ml.errors import DataError

__all__ = ["parse_window"]

_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_window(text: str) -> timedelta:
    """``7d``, ``24h`` or ``30m`` as a timedelta; anything else is a one-line DataError."""
    if len(text) < 2 or text[-1] not in _UNITS or not text[:-1].isdigit() or int(text[:-1]) == 0:
        raise DataError(f"window {text!r} is not like 7d, 30d, 24h or 30m")
    return timedelta(**{_UNITS[text[-1]]: int(text[:-1])})
