"""Reading a user's features back from the online store, view by view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nivesh_ml.config import Settings
from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.definitions import FEATURE_VIEWS, FeatureView, get_view
from nivesh_ml.features.online import OnlineStore, make_online_store

__all__ = ["fresh_rows", "get_user_features", "no_features_message", "online_features"]


def get_user_features(
    store: OnlineStore, user_id: str, views: Sequence[FeatureView] = FEATURE_VIEWS
) -> dict[str, dict[str, Any]]:
    """``{"<view>:v<n>": features}`` for every view that holds a fresh row for ``user_id``.

    Raises FeatureStoreError when none does, naming the fix.
    """
    found = fresh_rows(store, user_id, views)
    if not found:
        raise FeatureStoreError(no_features_message(user_id, views))
    return found


def fresh_rows(
    store: OnlineStore, user_id: str, views: Sequence[FeatureView] = FEATURE_VIEWS
) -> dict[str, dict[str, Any]]:
    """``{"<view>:v<n>": features}`` for every view that holds a fresh row for ``user_id`` (maybe none)."""
    return {str(view.key): row for view in views if (row := store.get(view.key, user_id)) is not None}


def no_features_message(user_id: str, views: Sequence[FeatureView] = FEATURE_VIEWS) -> str:
    """What to tell about a user none of ``views`` holds a fresh row for, with the fix."""
    names = ", ".join(str(view.key) for view in views)
    return (
        f"user {user_id!r} has no fresh features online in {names}; "
        "check the id, or run `nivesh-ml features build` and `nivesh-ml features materialize`"
    )


def online_features(settings: Settings, user_id: str, view: str | None = None) -> dict[str, dict[str, Any]]:
    """A user's online features from the configured store (one view when ``view`` is given)."""
    views = [get_view(view)] if view else list(FEATURE_VIEWS)
    store = make_online_store(settings)
    try:
        return get_user_features(store, user_id, views)
    finally:
        store.close()
