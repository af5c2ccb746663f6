from __future__ import annotations

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import ensure_synthetic, synthetic_dir
from nivesh_ml.data.synthetic import GeneratorConfig


def test_ensure_synthetic_writes_then_skips_the_same_config(settings: Settings) -> None:
    config = GeneratorConfig(users=40, months=2, seed=7)
    first = ensure_synthetic(settings, config)
    transactions = synthetic_dir(settings) / "transactions.parquet"
    written_at = transactions.stat().st_mtime_ns
    again = ensure_synthetic(settings, config)
    assert again == first
    assert transactions.stat().st_mtime_ns == written_at


def test_ensure_synthetic_regenerates_for_a_new_config_or_force(settings: Settings) -> None:
    first = ensure_synthetic(settings, GeneratorConfig(users=40, months=2, seed=7))
    other = ensure_synthetic(settings, GeneratorConfig(users=40, months=2, seed=8))
    assert other["version"] != first["version"]
    forced = ensure_synthetic(settings, GeneratorConfig(users=40, months=2, seed=8), force=True)
    assert forced["version"] == other["version"]
