"""Feature values to msgpack bytes and back; times as epoch microseconds."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgpack
import numpy as np

from nivesh_ml.errors import FeatureStoreError

RESERVED_PREFIX = "__"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_INT_RANGE = range(-(2**63), 2**64)  # what msgpack can hold


def normalize_row(features: Mapping[str, Any]) -> dict[str, Any]:
    """The row with every value made plain (what the store will give back), names checked.

    numpy scalars and arrays become Python values, ``NaN``/``NaT``/``pd.NA`` become None,
    dates and ``Timestamp``s become ISO strings, tuples become lists. Raises
    :class:`FeatureStoreError` naming the feature for anything else.
    """
    plain: dict[str, Any] = {}
    for name, value in features.items():
        if not isinstance(name, str) or not name or name.startswith(RESERVED_PREFIX):
            raise FeatureStoreError(f"bad feature name {name!r}: use a non-empty str not starting with '__'")
        plain[name] = _plain(value, name)
    return plain


def encode_value(value: Any) -> bytes:
    """msgpack bytes of a value already made plain by :func:`normalize_row`."""
    data: bytes = msgpack.packb(value)
    return data


def decode_value(data: bytes) -> Any:
    """The value :func:`encode_value` packed, with its type."""
    return msgpack.unpackb(data)


_KEPT = frozenset({str, int, bool, bytes, type(None)})


def _plain(value: Any, name: str) -> Any:
    kind = type(value)
    if kind in _KEPT:
        if kind is int and value not in _INT_RANGE:
            raise FeatureStoreError(f"feature {name!r}: int {value} does not fit in 64 bits")
        return value
    if kind is float:
        return None if math.isnan(value) else value
    if isinstance(value, np.datetime64) or kind.__module__.startswith("pandas"):
        return _pandas_plain(value, name)
    if isinstance(value, np.generic | np.ndarray):
        return _plain(value.tolist(), name)
    if isinstance(value, list | tuple):
        return [_plain(item, name) for item in value]
    if isinstance(value, Mapping):
        return {_nested_key(key, name): _plain(item, name) for key, item in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    for base in (bool, int, float, str):  # subclasses such as IntEnum, StrEnum
        if isinstance(value, base):
            return _plain(base(value), name)
    raise _unsupported(value, name)


def _pandas_plain(value: Any, name: str) -> Any:
    import pandas as pd  # only reached for pandas or numpy datetime values, so pandas is loaded

    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise _unsupported(value, name)


def _nested_key(key: Any, name: str) -> str:
    if not isinstance(key, str):
        raise FeatureStoreError(f"feature {name!r}: nested dict key {key!r} is not a str")
    return key


def _unsupported(value: Any, name: str) -> FeatureStoreError:
    return FeatureStoreError(
        f"feature {name!r} has a value of type {type(value).__name__} that the online store cannot hold;"
        " convert it to int, float, bool, str, None, or a list or dict of those"
    )


# --- time ----------------------------------------------------------------------------------


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (pandas Timestamps included)."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise FeatureStoreError(f"event_time must be a timezone-aware datetime, got {moment!r}")
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """The UTC datetime of :func:`to_micros`' number."""
    return _EPOCH + timedelta(microseconds=micros)


def now_micros() -> int:
    """The wall clock in microseconds since the Unix epoch."""
    return time.time_ns() // 1000
