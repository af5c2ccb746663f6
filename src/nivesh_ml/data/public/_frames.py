"""Helpers every loader shares: train/test splits, the test-split guard, column checks."""

from __future__ import annotations

from typing import Literal, cast, get_args

import pandas as pd

from nivesh_ml.errors import DataError, SchemaError

__all__ = ["Split", "assert_not_test", "check_split", "require_columns", "tag"]

Split = Literal["train", "test"]
_SPLITS: tuple[str, ...] = get_args(Split)


def check_split(name: str, split: str) -> Split:
    """``split`` if it is ``"train"`` or ``"test"``, else a one-line :class:`DataError`."""
    if split not in _SPLITS:
        raise DataError(f"{name}: split must be one of {', '.join(_SPLITS)}, got {split!r}")
    return cast(Split, split)


def tag(frame: pd.DataFrame, name: str, split: str | None = None) -> pd.DataFrame:
    """Record on ``frame.attrs`` which data set (and split) it came from; returns ``frame``."""
    frame.attrs["dataset"] = name
    if split is not None:
        frame.attrs["split"] = split
    return frame


def assert_not_test(frame: pd.DataFrame) -> None:
    """Raise :class:`DataError` if ``frame`` is (a slice of) a test split; training code calls it.

    The mark lives in ``frame.attrs``, which pandas carries through selections, copies and
    ``iloc``/``loc`` slices, but drops from ``pd.concat`` of frames whose marks differ: check
    each frame before combining them.
    """
    if frame.attrs.get("split") == "test":
        dataset = frame.attrs.get("dataset", "this frame")
        raise DataError(f"{dataset}: frame is the test split; never train on a test split, evaluate on it")


def require_columns(name: str, file: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Raise :class:`SchemaError` unless ``frame`` has exactly ``columns``, in that order."""
    found = tuple(str(column) for column in frame.columns)
    if found != columns:
        raise SchemaError(f"{name}: {file} has columns {', '.join(found)}; expected {', '.join(columns)}")
