"""The feature reference (docs/FEATURES.md), rendered from the definitions so docs follow code.

Regenerate with ``python -m nivesh_ml.features.reference > docs/FEATURES.md``; a test fails
when the committed file and the definitions disagree.
"""

from __future__ import annotations

from datetime import timedelta

from nivesh_ml.features.definitions import FEATURE_VIEWS, FeatureView

__all__ = ["render_reference"]

_HEADER = """# Feature reference

Generated from `src/nivesh_ml/features/definitions.py` by
`python -m nivesh_ml.features.reference > docs/FEATURES.md`; do not edit by hand.

Every view is keyed by `user_id` and computed *as of* an instant from the transactions strictly
before it. Counts and sums are 0 for a user with nothing in a window; means, ratios and shares
are empty (NaN / null). Online rows are fresh for the view's TTL after materialisation; in a
point-in-time join a snapshot serves events up to its TTL after its `as_of`.
"""


def _view_section(view: FeatureView) -> str:
    lines = [
        f"## `{view.name}` v{view.version}",
        "",
        view.description,
        "",
        f"TTL: {_ttl(view.ttl)}. Features: {len(view.features)}.",
        "",
        "| feature | type | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{f.name}` | {f.dtype} | {f.description} |" for f in view.features]
    return "\n".join(lines)


def _ttl(ttl: timedelta) -> str:
    hours = ttl.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours % 24 == 0 else f"{hours:g} hours"


def render_reference() -> str:
    """The whole reference as Markdown."""
    return "\n\n".join([_HEADER.rstrip(), *(_view_section(view) for view in FEATURE_VIEWS)]) + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
