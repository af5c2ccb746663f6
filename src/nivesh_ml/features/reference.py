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

## Freshness online: refresh, age, expiry

- **Refresh.** `nivesh-ml features refresh` rebuilds nothing: it copies the rows that changed in
  each view's latest offline snapshot and moves every other row's expiry to now + TTL (a
  `touch`: SQLite `UPDATE`, Redis hash fields and `PEXPIREAT`; never earlier than before).
  `features materialize` does the same after a build. Run it daily: the
  `nivesh_features_refresh` Airflow DAG does (`@daily`, retried), and `nivesh-ml serve` does it
  itself on the embedded SQLite store every `NIVESH_FEATURE_REFRESH_INTERVAL_S` (6 h; 0 turns it
  off), and at start-up when a view is past half its TTL.
- **Age.** A view's age is the time since the materialisation or refresh that last wrote or
  extended every one of its rows, recorded in the online store (SQLite table `online_views`,
  Redis hash `<prefix>:__views__`), so every process reading the store sees the same age. Every
  row of a view of age *a* is served for at least TTL - *a* more. `/ready` reports it
  (`online_store.view_age_s`, null if never recorded) and so does the gauge
  `nivesh_feature_view_age_seconds{view}` (beside `nivesh_feature_view_ttl_seconds{view}`).
- **Expiry.** A view whose age reaches its TTL has expired: its rows read as missing. `/ready`
  lists it in `online_store.expired_views` and stays 200 (routes that do not need it serve on).
  A route whose model needs the view answers 503 naming it ("the online view
  transaction_stats:v1 has expired for this user; run `nivesh-ml features refresh`"), never
  404: spending needs `spending_patterns`, anomaly `transaction_stats`, credit risk (by
  `user_id`) `user_financial_profile`. A user in no view is 404 only while the views are fresh.
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
