from __future__ import annotations

import pytest

from nivesh_ml.config import Settings
from nivesh_ml.errors import ModelNotFoundError
from nivesh_ml.tracking.loading import clear_cache, load_model
from nivesh_ml.tracking.registry import apply_gate

from .conftest import EXAMPLE, log_version


def test_load_model_by_alias_is_cached_by_version(tracking_settings: Settings) -> None:
    version, _ = log_version(tracking_settings, offset=10)
    apply_gate(tracking_settings, "credit-risk", version, {"auc": 0.9}, "a" * 64)
    loaded = load_model(tracking_settings, "credit-risk")
    assert (loaded.name, loaded.version, loaded.alias) == ("nivesh-credit-risk", version, "champion")
    assert list(loaded.pyfunc.predict(EXAMPLE)) == [11.0, 12.0, 13.0]
    assert load_model(tracking_settings, "credit-risk").pyfunc is loaded.pyfunc
    clear_cache()
    assert load_model(tracking_settings, "credit-risk").pyfunc is not loaded.pyfunc


def test_missing_alias_names_the_model_and_the_fix(tracking_settings: Settings) -> None:
    with pytest.raises(
        ModelNotFoundError, match=r"nivesh-intent has no version with alias 'champion'.*train intent"
    ):
        load_model(tracking_settings, "intent")
