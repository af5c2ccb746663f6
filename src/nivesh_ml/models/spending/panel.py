"""The data the forecast learns from: spend per user, category and month, and each user's level.

A *spend frame* has one row per debit that counts as spend: ``entity`` (a user or a card),
``category``, ``timestamp`` and ``amount`` (> 0). :func:`build_panel` turns it into a
:class:`SpendPanel`: the monthly spend of every entity and category over the whole months the
data covers, and the daily category totals the Prophet curves are fitted on.

A user's *level* is what they spent in each category over the trailing 30, 90 and 365 days
before an instant: for Nivesh users, the ``spend_<cat>_<days>d`` features of the feature store's
``spending_patterns`` view (:class:`FeatureStoreLevels` calls its builder, the code that fills
the online store); for other data (Birmingham), the same sums over the spend frame
(:class:`FrameLevels`).

Reading transactions and building the feature builder's sources from them lives in
:mod:`nivesh_ml.models.transactions` (shared with the anomaly detector).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from nivesh_ml.errors import DataError
from nivesh_ml.features.builders import SourceFrames, build_views
from nivesh_ml.features.definitions import SPEND_CATEGORIES, get_view
from nivesh_ml.models.transactions import TRANSACTION_COLUMNS

__all__ = [
    "FeatureStoreLevels",
    "FrameLevels",
    "LevelSource",
    "SpendPanel",
    "build_panel",
    "levels_from_features",
    "spend_frame",
]

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class SpendPanel:
    """Monthly spend per entity and category, and daily totals per category."""

    entities: np.ndarray  # object array of str, sorted
    categories: tuple[str, ...]
    months: pd.DatetimeIndex  # month starts of the whole months covered
    monthly: np.ndarray  # (entities, categories, months)
    daily: np.ndarray  # (categories, days): day 0 is months[0]
    category_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "category_index", {c: i for i, c in enumerate(self.categories)})

    @property
    def start(self) -> pd.Timestamp:
        """The first day covered."""
        return pd.Timestamp(self.months[0])

    @property
    def end(self) -> pd.Timestamp:
        """The first day after the last whole month."""
        return pd.Timestamp(self.months[-1]) + pd.DateOffset(months=1)

    def day(self, when: pd.Timestamp) -> int:
        """Day index of ``when`` (days since :attr:`start`, fractional days rounded up)."""
        return int(np.ceil((pd.Timestamp(when) - self.start) / _DAY))

    def month_total(self, month: int) -> np.ndarray:
        """Spend of all entities per category in month ``month`` (an index into :attr:`months`)."""
        return np.asarray(self.monthly[:, :, month].sum(axis=0), dtype=np.float64)


def spend_frame(transactions: pd.DataFrame, categories: Sequence[str] = SPEND_CATEGORIES) -> pd.DataFrame:
    """The spend of a transactions frame (the synthetic columns): debits in ``categories``."""
    missing = [name for name in TRANSACTION_COLUMNS if name not in transactions.columns]
    if missing:
        raise DataError(f"transactions need columns {', '.join(TRANSACTION_COLUMNS)}; missing {missing}")
    category = transactions["category"].astype(object)
    keep = (transactions["direction"].astype(object) == "debit") & category.isin(list(categories))
    rows = transactions[keep.to_numpy()]
    return pd.DataFrame(
        {
            "entity": rows["user_id"].astype(str).to_numpy(dtype=object),
            "category": category[keep].to_numpy(dtype=object),
            "timestamp": pd.to_datetime(rows["timestamp"]).to_numpy(dtype="datetime64[ns]"),
            "amount": rows["amount"].to_numpy(dtype=np.float64),
        }
    )


def build_panel(
    spend: pd.DataFrame,
    categories: Sequence[str] | None = None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> SpendPanel:
    """The panel of a spend frame over ``window`` (default: the whole months it covers)."""
    start, end = window or _whole_months(spend["timestamp"])
    inside = spend[(spend["timestamp"] >= start) & (spend["timestamp"] < end)]
    cats = tuple(categories) if categories else tuple(sorted(inside["category"].unique()))
    entities = np.asarray(sorted(inside["entity"].unique()), dtype=object)
    months = pd.date_range(start, end - pd.DateOffset(months=1), freq="MS")
    if len(months) < 2 or entities.size == 0:
        raise DataError(f"need at least two whole months of spend, got {len(months)} from {start} to {end}")
    e = pd.Index(entities).get_indexer(inside["entity"])
    c = pd.Index(cats).get_indexer(inside["category"])
    stamp = inside["timestamp"].to_numpy(dtype="datetime64[ns]")
    m = _month_number(stamp) - _month_number(np.asarray([start.to_datetime64()]))[0]
    d = ((stamp - start.to_datetime64()) // np.timedelta64(1, "D")).astype(np.int64)
    ok = c >= 0
    amount = inside["amount"].to_numpy(dtype=np.float64)
    monthly = np.zeros((entities.size, len(cats), len(months)))
    np.add.at(monthly, (e[ok], c[ok], m[ok]), amount[ok])
    n_days = int((end - start) / _DAY)
    daily = np.bincount(c[ok] * n_days + d[ok], weights=amount[ok], minlength=len(cats) * n_days)
    return SpendPanel(entities, cats, months, monthly, daily.reshape(len(cats), n_days))


def _whole_months(stamps: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    first, last = pd.Timestamp(stamps.min()), pd.Timestamp(stamps.max())
    start = first.to_period("M").to_timestamp()
    end = (last + _DAY).to_period("M").to_timestamp()  # a month that ends on its last day is whole
    return start, end


def _month_number(stamps: np.ndarray) -> np.ndarray:
    return np.asarray(stamps.astype("datetime64[M]").astype(np.int64), dtype=np.int64)


# --- levels -----------------------------------------------------------------------------------


class LevelSource(Protocol):
    """Window sums per entity, category and window, as of an instant."""

    def levels(self, as_of: pd.Timestamp) -> np.ndarray:
        """(entities, categories, windows) spend in the windows before ``as_of``."""
        ...


class FrameLevels:
    """Levels summed straight from a spend frame (data outside the feature store: Birmingham)."""

    def __init__(self, spend: pd.DataFrame, panel: SpendPanel, windows_days: Sequence[int]) -> None:
        self._entity = pd.Index(panel.entities).get_indexer(spend["entity"])
        self._category = pd.Index(panel.categories).get_indexer(spend["category"])
        keep = (self._entity >= 0) & (self._category >= 0)
        self._entity, self._category = self._entity[keep], self._category[keep]
        self._stamp = spend["timestamp"].to_numpy(dtype="datetime64[ns]")[keep]
        self._amount = spend["amount"].to_numpy(dtype=np.float64)[keep]
        self._shape = (panel.entities.size, len(panel.categories))
        self._windows = tuple(windows_days)
        self._cache: dict[pd.Timestamp, np.ndarray] = {}

    def levels(self, as_of: pd.Timestamp) -> np.ndarray:
        """(entities, categories, windows) spend in [as_of - days, as_of)."""
        if as_of not in self._cache:
            self._cache[as_of] = np.stack([self._window(as_of, days) for days in self._windows], axis=2)
        return self._cache[as_of]

    def _window(self, as_of: pd.Timestamp, days: int) -> np.ndarray:
        end = as_of.to_datetime64()
        rows = (self._stamp >= end - np.timedelta64(days, "D")) & (self._stamp < end)
        n_entities, n_categories = self._shape
        flat = np.bincount(
            self._entity[rows] * n_categories + self._category[rows],
            weights=self._amount[rows],
            minlength=n_entities * n_categories,
        )
        return flat.reshape(self._shape)


class FeatureStoreLevels:
    """Levels from the ``spending_patterns`` view, built as of each instant by the feature builder."""

    def __init__(self, sources: SourceFrames, panel: SpendPanel, windows_days: Sequence[int]) -> None:
        unknown = sorted(set(panel.categories) - set(SPEND_CATEGORIES))
        if unknown:
            raise DataError(f"spending_patterns has no features for categories {unknown}")
        self._sources = sources
        self._panel = panel
        self._windows = tuple(windows_days)
        self._view = get_view("spending_patterns")
        self._cache: dict[pd.Timestamp, np.ndarray] = {}

    def levels(self, as_of: pd.Timestamp) -> np.ndarray:
        """(entities, categories, windows) from the view as of ``as_of``; 0 for users it does not know."""
        if as_of not in self._cache:
            frame = build_views([self._view], self._sources, as_of)[self._view.name]
            rows = frame.set_index("user_id").reindex(self._panel.entities)
            cube = np.stack(
                [
                    rows[[f"spend_{cat}_{days}d" for cat in self._panel.categories]].to_numpy(np.float64)
                    for days in self._windows
                ],
                axis=2,
            )
            self._cache[as_of] = np.nan_to_num(cube, nan=0.0)
        return self._cache[as_of]


def levels_from_features(
    features: Mapping[str, object], categories: Sequence[str], windows_days: Sequence[int]
) -> np.ndarray:
    """A (1, categories, windows) level cube from one user's spending_patterns row (missing = 0)."""
    out = np.zeros((1, len(categories), len(windows_days)))
    for i, cat in enumerate(categories):
        for k, days in enumerate(windows_days):
            value = features.get(f"spend_{cat}_{days}d")
            if isinstance(value, int | float) and np.isfinite(value):
                out[0, i, k] = float(value)
    return out
