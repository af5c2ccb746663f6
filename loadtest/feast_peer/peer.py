"""The Feast side of ``loadtest/bench_feast.py``; it runs with the Feast venv's python.

``PYTHONPATH=loadtest var/bench/feast-venv/bin/python -m feast_peer.peer --parquet FILE
--repo DIR --reads FILE --redis HOST:PORT --db N --warmup W --out FILE``

Writes a feature repo into ``--repo`` (replacing it): ``feature_store.yaml`` with a file
registry, the file offline store and the Redis online store at ``HOST:PORT`` db ``N``. Then it
applies an Entity ``user_id`` and one FeatureView over the Parquet file with the SDK
(``FeatureStore.apply``), materializes it into Redis, and times
``get_online_features(...).to_dict()`` for the entity ids in ``--reads`` (1 entity a call,
then 100). The result, or ``{"error": "..."}``, goes to ``--out`` as JSON; Feast's own output
and progress go to stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feast
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String

from feast_peer.timing import time_calls

VIEW_NAME = "user_financial_profile"
ENTITY = "user_id"
TIMESTAMP = "event_timestamp"
TTL = timedelta(days=3650)
DTYPES = {"double": Float64, "int64": Int64}


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"feast_peer: {message}", file=sys.stderr, flush=True)


def write_repo(repo: Path, redis_addr: str, db: int) -> None:
    """A fresh feature repo: ``feature_store.yaml`` and an empty ``data/`` for the registry."""
    shutil.rmtree(repo, ignore_errors=True)
    (repo / "data").mkdir(parents=True)
    config = {
        "project": "nivesh_bench",
        "provider": "local",
        # cache_ttl_seconds 0: never re-read the registry during the timed reads (Feast's advice).
        "registry": {"path": str(repo / "data" / "registry.db"), "cache_ttl_seconds": 0},
        "online_store": {"type": "redis", "connection_string": f"{redis_addr},db={db}"},
        "offline_store": {"type": "file"},
        "entity_key_serialization_version": 3,
    }
    (repo / "feature_store.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def define(parquet: Path) -> tuple[Entity, FeatureView, list[str]]:
    """The entity, the feature view over every feature column of the Parquet, and their names."""
    schema = pq.read_schema(parquet)
    fields = [
        Field(name=col.name, dtype=DTYPES[str(col.type)])
        for col in schema
        if col.name not in {ENTITY, TIMESTAMP}
    ]
    entity = Entity(name=ENTITY, join_keys=[ENTITY], value_type=ValueType.STRING)
    source = FileSource(name=f"{VIEW_NAME}_source", path=str(parquet), timestamp_field=TIMESTAMP)
    view = FeatureView(
        name=VIEW_NAME,
        entities=[entity],
        ttl=TTL,
        schema=[Field(name=ENTITY, dtype=String), *fields],
        source=source,
        online=True,
    )
    return entity, view, [field.name for field in fields]


def time_window(parquet: Path) -> tuple[datetime, datetime]:
    """A materialization window around every event timestamp in the Parquet."""
    bounds = pc.min_max(pq.read_table(parquet, columns=[TIMESTAMP])[TIMESTAMP])
    first, last = bounds["min"].as_py(), bounds["max"].as_py()
    return first - timedelta(days=1), last + timedelta(days=1)


def materialize(store: FeatureStore, parquet: Path) -> float:
    """Load the Parquet into Redis; the seconds it took."""
    start, end = time_window(parquet)
    started = time.perf_counter()
    store.materialize(start_date=start, end_date=end, feature_views=[VIEW_NAME])
    return time.perf_counter() - started


def bench_reads(store: FeatureStore, names: list[str], reads: dict[str, Any], warmup: int) -> dict[str, Any]:
    """p50/p99 of ``get_online_features().to_dict()`` for 1 and 100 entities, and one row to compare."""
    refs = [f"{VIEW_NAME}:{name}" for name in names]

    def read(rows: list[dict[str, str]]) -> dict[str, Any]:
        return store.get_online_features(features=refs, entity_rows=rows).to_dict()

    one = [[{ENTITY: entity_id}] for entity_id in reads["one"]]
    hundred = [[{ENTITY: entity_id} for entity_id in batch] for batch in reads["hundred"]]
    sample = read(one[0])
    if all(sample[name][0] is None for name in names):
        raise RuntimeError(f"Feast returned no features for {reads['one'][0]}: materialize wrote nothing")
    return {
        "one": time_calls(read, one, warmup),
        "hundred": time_calls(read, hundred, warmup),
        "sample": {"entity_id": reads["one"][0], "features": {name: sample[name][0] for name in names}},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Repo, apply, materialize, timed reads; the figures."""
    write_repo(args.repo, args.redis, args.db)
    store = FeatureStore(repo_path=str(args.repo))
    entity, view, names = define(args.parquet)
    store.apply([entity, view])
    progress(f"applied {VIEW_NAME} ({len(names)} features); materializing into Redis db {args.db} ...")
    seconds = materialize(store, args.parquet)
    progress(f"materialized in {seconds:.1f} s; timing get_online_features ...")
    figures = bench_reads(store, names, json.loads(args.reads.read_text()), args.warmup)
    return {"feast_version": feast.__version__, "materialize_s": round(seconds, 1), **figures}


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="feast_peer", description=__doc__.splitlines()[0])
    parser.add_argument("--parquet", type=Path, required=True)
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--reads", type=Path, required=True, help='JSON {"one": [ids], "hundred": [[ids]]}')
    parser.add_argument("--redis", required=True, help="HOST:PORT")
    parser.add_argument("--db", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run, and write the figures or the error to ``--out``."""
    args = parse(argv)
    try:
        result, code = run(args), 0
    except Exception as exc:  # report any failure as one line to the caller; traceback to stderr
        traceback.print_exc()
        result, code = {"error": " ".join(f"{type(exc).__name__}: {exc}".split())}, 1
    args.out.write_text(json.dumps(result))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
