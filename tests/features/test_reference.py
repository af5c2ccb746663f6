from __future__ import annotations

from pathlib import Path

from nivesh_ml.features.definitions import FEATURE_VIEWS
from nivesh_ml.features.reference import render_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "FEATURES.md"


def test_reference_lists_every_feature_of_every_view() -> None:
    text = render_reference()
    for view in FEATURE_VIEWS:
        assert f"## `{view.name}` v{view.version}" in text
        for feature in view.features:
            assert f"| `{feature.name}` | {feature.dtype} |" in text


def test_committed_reference_is_up_to_date() -> None:
    assert DOC.read_text() == render_reference(), (
        "docs/FEATURES.md is stale: run `python -m nivesh_ml.features.reference > docs/FEATURES.md`"
    )
