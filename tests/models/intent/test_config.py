"""The intent config: the packaged base checkpoint, recipes, overrides."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from nivesh_ml.config import Settings
from nivesh_ml.models.intent.config import (
    INTENTS,
    LABELS,
    OUT_OF_SCOPE,
    IntentConfig,
    config_for,
    default_base_model,
)


def test_the_base_checkpoint_ships_in_a_package() -> None:
    folder = default_base_model()
    assert (folder / "config.json").is_file()
    assert (folder / "tokenizer.json").is_file()


def test_labels_are_the_14_intents_then_the_fallback() -> None:
    assert len(INTENTS) == 14
    assert LABELS[-1] == OUT_OF_SCOPE
    assert len(set(LABELS)) == 15


def test_recipes_and_params() -> None:
    config = IntentConfig()
    assert (config.max_len, config.batch_size) == (64, 32)
    quick = config.quick()
    assert quick.epochs == 1
    assert quick.max_steps
    assert quick.rows_per_label
    assert config.banking77().max_len == 48
    json.dumps(config.params())


def test_settings_can_point_at_another_checkpoint(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    assert config_for(make_settings(intent_base_model=str(tmp_path))).base_model == tmp_path
    assert config_for(make_settings()).base_model == default_base_model()
    assert config_for(make_settings(), epochs=2).epochs == 2
