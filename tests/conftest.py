"""Fixtures shared by every test: isolated settings under a temporary NIVESH_HOME."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NIVESH_DATASETS_DIR", REPO_ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NIVESH_* variable of the developer's shell leaks into a test; nothing calls out."""
    for name in list(os.environ):
        if name.startswith("NIVESH_"):
            monkeypatch.delenv(name)
    for name, value in OFFLINE_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """A factory of settings with every writable path under a fresh temporary home."""

    def make(**overrides: Any) -> Settings:
        # test models are defined in test modules: the pickle type check is the supply-chain tests' job
        values: dict[str, Any] = {
            "home": tmp_path / "var",
            "datasets_dir": SHARED_DATA,
            "trust_model_pickles": True,
            **overrides,
        }
        return load_settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Settings with every writable path under a fresh temporary home."""
    return make_settings()


@pytest.fixture
def shared_data() -> Path:
    """The shipped public data sets (../shared/data beside the checkout, or NIVESH_DATASETS_DIR)."""
    return SHARED_DATA
