"""Vectorised, point-in-time builders of the feature views.

:func:`build_view` computes one view for every user known at ``as_of`` (signed up before it)
from the transactions strictly before ``as_of`` and the accounts opened before it: nothing at
or after ``as_of`` can reach a feature, so a snapshot taken as of an instant is safe to join to
any event at or after that instant. One module per view (:mod:`.profile`, :mod:`.spending`,
:mod:`.transaction_stats`), each a function from the cut sources to columns of numpy arrays,
and the oldest instant it reads (:func:`earliest_read`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.builders import profile, spending, transaction_stats
from nivesh_ml.features.builders._common import Cut, prepare
from nivesh_ml.features.definitions import PANDAS_DTYPES, FeatureView, check_frame

if TYPE_CHECKING:
    from nivesh_ml.data.synthetic import SyntheticData

__all__ = ["SourceFrames", "build_view", "build_views", "earliest_read"]

Columns = Mapping[str, np.ndarray | list[list[str]]]


@dataclass(frozen=True)
class _Builder:
    build: Callable[[Cut], Columns]
    earliest: Callable[[pd.Timestamp], pd.Timestamp]  # the oldest instant it reads, given as_of


_BUILDERS: dict[tuple[str, int], _Builder] = {
    ("user_financial_profile", 1): _Builder(profile.build, profile.earliest),
    ("spending_patterns", 1): _Builder(spending.build, spending.earliest),
    ("transaction_stats", 1): _Builder(transaction_stats.build, transaction_stats.earliest),
}


@dataclass(frozen=True)
class SourceFrames:
    """The frames features are built from (the synthetic data's columns; see ``nivesh_ml.data``)."""

    users: pd.DataFrame
    accounts: pd.DataFrame
    transactions: pd.DataFrame

    @classmethod
    def from_synthetic(cls, data: SyntheticData) -> SourceFrames:
        """The sources of a generated (or loaded) synthetic data set."""
        return cls(users=data.users, accounts=data.accounts, transactions=data.transactions)


def build_view(view: FeatureView, sources: SourceFrames, as_of: pd.Timestamp) -> pd.DataFrame:
    """The view's features for every user known at ``as_of``, from data strictly before it.

    One row per user (in the users frame's order): ``user_id``, ``event_timestamp`` (= ``as_of``),
    then ``view.columns`` with their declared dtypes.
    """
    return build_views([view], sources, as_of)[view.name]


def build_views(
    views: Sequence[FeatureView], sources: SourceFrames, as_of: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """Several views as of the same instant, by view name, cutting the sources once for all of them."""
    builders = [(view, _builder(view).build) for view in views]
    as_of = _instant(as_of)
    cut = prepare(sources.users, sources.accounts, sources.transactions, as_of)
    return {view.name: _frame(view, cut, build(cut)) for view, build in builders}


def earliest_read(as_of: pd.Timestamp, views: Sequence[FeatureView] | None = None) -> pd.Timestamp:
    """The midnight from which ``views`` (default: every view built here) read transactions as of ``as_of``.

    Older rows reach a view in two ways only, one row per entity: a user's first transaction
    (their history length counts from it) and a deposit account's last row with a balance
    (carried forward into the end-of-day balances); an incremental build keeps those two aside.
    """
    chosen = [_builder(view) for view in views] if views is not None else list(_BUILDERS.values())
    stamp = _instant(as_of)
    return min(builder.earliest(stamp) for builder in chosen).normalize()


def _builder(view: FeatureView) -> _Builder:
    builder = _BUILDERS.get((view.name, view.version))
    if builder is None:
        known = ", ".join(f"{name}:v{version}" for name, version in _BUILDERS)
        raise FeatureStoreError(f"no builder for feature view {view.key}; built views: {known}")
    return builder


def _instant(as_of: pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(as_of)
    if stamp.tzinfo is not None:
        raise FeatureStoreError(f"as_of must be a naive IST timestamp like the transactions, got {as_of}")
    return stamp.as_unit("ns")


def _frame(view: FeatureView, cut: Cut, columns: Columns) -> pd.DataFrame:
    """The built columns as the view's frame, each cast to its declared dtype."""
    if set(columns) != set(view.columns):
        missing, extra = sorted(set(view.columns) - set(columns)), sorted(set(columns) - set(view.columns))
        raise FeatureStoreError(f"builder of {view.key} is out of step: missing {missing}, extra {extra}")
    data: dict[str, object] = {
        "user_id": pd.Series(cut.user_ids, dtype=object),
        "event_timestamp": pd.Series(np.full(cut.n, cut.as_of.to_datetime64()), dtype="datetime64[ns]"),
    }
    for feature in view.features:
        values = columns[feature.name]
        dtype = PANDAS_DTYPES[feature.dtype]
        data[feature.name] = pd.Series(values, dtype=dtype)
    frame = pd.DataFrame(data)
    check_frame(view, frame)
    return frame
