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

## Offline snapshots: full and incremental builds

- **Snapshots.** `nivesh-ml features build` computes every view as of the last `--snapshots`
  month starts and "latest" (the second after the last transaction) and writes each to
  `<home>/features/<view>/v<version>/as_of=<YYYYMMDDTHHMMSS>/` (`data.parquet`, `_meta.json`); a
  snapshot already built from the same data version is skipped.
- **Incremental after `data advance`.** A view reads at most the 365 days or 12 calendar months
  before `as_of`, from midnight (`builders.earliest_read`). Older data reaches it in two ways
  only, one row per entity: a user's first transaction (history length) and a deposit account's
  last balance (carried forward day by day). Every build keeps those rows, the midnight it read
  from and the data it covered (history file hashes, advanced days and their sha256) in
  `<home>/features/_build_state.parquet`. When only day partitions were appended since, the next
  build reads the history's rows from that midnight on (a pyarrow filter on `timestamp`) and the
  day partitions from that day on (pruned by their `date=` folder), puts the kept rows in front
  and builds the new "latest" (and a new month start) from them. Snapshots as of instants before
  the appended days stay: those days cannot reach them. The snapshots are identical to a full
  rebuild's; `tests/features/test_incremental.py` compares them value for value.
- **Full builds.** `--full` reads the whole data set and rebuilds every snapshot not built from
  this very data version; `--force` rebuilds every one. A build is full anyway without a build
  state, when the generated history changed or an advanced day was rewritten, or when a snapshot
  to build reads from before the kept midnight (a new view version, a deleted month start).
- **What was read.** Each snapshot's `_meta.json` records it under `build`: `mode` (`full` or
  `incremental`), `read_from` (the midnight read from; null for a full build) and `rows_read`,
  and for an incremental build `history_rows_read`, `days_read` and `carried_rows`.

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
