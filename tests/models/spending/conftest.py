"""Small synthetic data shared by the spending tests: 80 users over 17 months, generated once."""

from __future__ import annotations

import pytest

from nivesh_ml.data.synthetic import GeneratorConfig, SyntheticData, generate
from nivesh_ml.models.spending.config import SpendingConfig, quick_config
from nivesh_ml.models.spending.panel import FeatureStoreLevels, SpendPanel, build_panel, spend_frame
from nivesh_ml.models.transactions import backfilled_sources


@pytest.fixture(scope="session")
def small_data() -> SyntheticData:
    """80 users x 17 months (seconds to generate)."""
    return generate(GeneratorConfig(users=80, months=17, seed=7))


@pytest.fixture(scope="session")
def config() -> SpendingConfig:
    """The quick configuration."""
    return quick_config()


@pytest.fixture(scope="session")
def panel(small_data: SyntheticData, config: SpendingConfig) -> SpendPanel:
    """The small data's monthly panel."""
    return build_panel(spend_frame(small_data.transactions, config.categories), config.categories)


@pytest.fixture(scope="session")
def levels(small_data: SyntheticData, panel: SpendPanel, config: SpendingConfig) -> FeatureStoreLevels:
    """Users' window levels from the feature store's builder."""
    sources = backfilled_sources(small_data.users, small_data.accounts, small_data.transactions)
    return FeatureStoreLevels(sources, panel, config.windows_days)
