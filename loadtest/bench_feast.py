"""Online read latency: our RedisStore against Feast's SDK on the same data, in one run.

``python loadtest/bench_feast.py [--users N] [--features F] [--reads R] [--seed S]`` prints one
JSON object (see :func:`bench_feast`); progress goes to stderr.

* Feast ``feast[redis]==FEAST_VERSION`` lives in its own venv, ``var/bench/feast-venv``, made on
  first use (and remade when the pin changes); it is never installed into the project's venv.
* One seeded frame of ``users`` financial-profile rows (float64 and int64 features) is written to
  ``var/bench/feast/user_financial_profile.parquet``.
* The Feast side (``loadtest/feast_peer/peer.py``, run with the Feast venv's python) applies a
  repo in ``var/bench/feast/repo``, materializes into Redis db :data:`FEAST_DB` (which must be
  empty at the start; it is flushed at the end) and times ``get_online_features().to_dict()``.
* Our side then fills a :class:`RedisStore` under a unique prefix in db 0 with the same rows and
  times ``get`` / ``get_many``; its keys are unlinked at the end.

Both sides read the same entity id sequences, with the same warm-up and the same percentile code
(``loadtest/feast_peer/timing.py``). Redis is reached on loopback only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import redis
from feast_peer.timing import time_calls

from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.online import RedisStore, ViewKey

__all__ = ["FEAST_VERSION", "BenchError", "bench_feast", "make_frame"]

FEAST_VERSION = "0.67.0"  # the latest release on PyPI when pinned; it installs and runs here
FEAST_REQUIREMENT = f"feast[redis]=={FEAST_VERSION}"
ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
FEAST_VENV = BENCH_DIR / "feast-venv"
FEAST_DIR = BENCH_DIR / "feast"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
FEAST_DB = 14  # Feast's keys only; must be empty before the run, flushed after
OURS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"  # our keys live under a unique prefix
VIEW = ViewKey("user_financial_profile", 1)
EVENT_TIME = datetime(2025, 1, 1, tzinfo=UTC)
TTL = timedelta(days=3650)
WARMUP = 50  # untimed calls before each timed series, on both sides
BATCH = 100
WRITE_BATCH = 1_000
PIP_TIMEOUT_S = 1_200
PEER_TIMEOUT_S = 1_800

_Draw = Callable[[np.random.Generator, int], Any]
# A financial profile: (name, dtype, draw), alternating float64 and int64; repeated with a
# suffix (monthly_income_2, ...) when more features are asked for.
PROFILE: tuple[tuple[str, str, _Draw], ...] = (
    ("monthly_income", "float64", lambda rng, n: rng.lognormal(10.8, 0.6, n).round(2)),
    ("txn_count_30d", "int64", lambda rng, n: rng.poisson(45, n)),
    ("avg_txn_amount", "float64", lambda rng, n: rng.lognormal(7.0, 1.0, n).round(2)),
    ("credit_score", "int64", lambda rng, n: rng.integers(300, 901, n)),
    ("savings_rate", "float64", lambda rng, n: rng.beta(2, 5, n).round(4)),
    ("days_since_last_txn", "int64", lambda rng, n: rng.geometric(0.3, n) - 1),
    ("credit_utilization", "float64", lambda rng, n: rng.beta(2, 3, n).round(4)),
    ("late_payments_12m", "int64", lambda rng, n: rng.poisson(0.4, n)),
    ("emi_to_income", "float64", lambda rng, n: rng.beta(1.5, 6, n).round(4)),
    ("num_accounts", "int64", lambda rng, n: rng.integers(1, 9, n)),
    ("balance_avg_90d", "float64", lambda rng, n: rng.lognormal(11.0, 1.1, n).round(2)),
    ("tenure_months", "int64", lambda rng, n: rng.integers(1, 241, n)),
    ("spend_volatility", "float64", lambda rng, n: rng.gamma(2.0, 0.15, n).round(4)),
    ("upi_txn_count_30d", "int64", lambda rng, n: rng.poisson(30, n)),
    ("investment_ratio", "float64", lambda rng, n: rng.beta(1.2, 8, n).round(4)),
    ("salary_credit_day", "int64", lambda rng, n: rng.integers(1, 29, n)),
)


class BenchError(RuntimeError):
    """The benchmark cannot run; the message is one line saying why."""


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"bench_feast: {message}", file=sys.stderr, flush=True)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# --- data ------------------------------------------------------------------------------------


def make_frame(users: int, features: int, seed: int = 42) -> pd.DataFrame:
    """``users`` rows (``U0000001``...): ``user_id``, ``features`` columns, ``event_timestamp``."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {"user_id": [f"U{number:07d}" for number in range(1, users + 1)]}
    for index in range(features):
        name, dtype, draw = PROFILE[index % len(PROFILE)]
        repeat = index // len(PROFILE)
        columns[name if repeat == 0 else f"{name}_{repeat + 1}"] = draw(rng, users).astype(dtype)
    frame = pd.DataFrame(columns)
    frame["event_timestamp"] = pd.Timestamp(EVENT_TIME)
    return frame


def draw_reads(ids: list[str], reads: int, seed: int) -> dict[str, Any]:
    """The entity ids both sides read: ``one`` (an id a call), ``hundred`` (100 ids a call)."""
    rng = random.Random(seed + 1)
    calls = WARMUP + reads
    return {
        "one": [rng.choice(ids) for _ in range(calls)],
        "hundred": [rng.sample(ids, BATCH) for _ in range(calls)],
    }


# --- the Feast venv --------------------------------------------------------------------------


def ensure_feast_venv() -> Path:
    """The python of ``var/bench/feast-venv`` with :data:`FEAST_REQUIREMENT`, made if missing."""
    python = FEAST_VENV / "bin" / "python"
    marker = FEAST_VENV / ".nivesh-feast-pin"
    if python.exists() and marker.exists() and marker.read_text().strip() == FEAST_REQUIREMENT:
        progress(f"reusing {_rel(FEAST_VENV)} ({FEAST_REQUIREMENT})")
        return python
    base = shutil.which("python3")
    if base is None:
        raise BenchError("no python3 on PATH to create the Feast venv with")
    log = BENCH_DIR / "feast-install.log"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    progress(f"creating {_rel(FEAST_VENV)} with {base} -m venv")
    _run_logged([base, "-m", "venv", "--clear", str(FEAST_VENV)], log, f"create {_rel(FEAST_VENV)}")
    progress(f"installing {FEAST_REQUIREMENT} (a minute or two; log: {_rel(log)})")
    _run_logged([str(python), "-m", "pip", "install", FEAST_REQUIREMENT], log, f"install {FEAST_REQUIREMENT}")
    _check_feast_version(python)
    marker.write_text(FEAST_REQUIREMENT + "\n")
    return python


def _run_logged(command: list[str], log: Path, what: str) -> None:
    with log.open("a") as sink:
        try:
            done = subprocess.run(
                command, stdout=sink, stderr=subprocess.STDOUT, timeout=PIP_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise BenchError(f"cannot {what}: no result in {PIP_TIMEOUT_S} s (log: {_rel(log)})") from None
    if done.returncode != 0:
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")]
        reason = (errors or lines or [f"exit status {done.returncode}"])[-1].strip()
        raise BenchError(f"cannot {what}: {reason} (log: {_rel(log)})")


def _check_feast_version(python: Path) -> None:
    probe = [str(python), "-c", "import feast; print(feast.__version__)"]
    done = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=False)
    found = done.stdout.strip()
    if done.returncode != 0 or found != FEAST_VERSION:
        reason = (done.stderr.strip().splitlines() or [f"version {found!r}"])[-1]
        raise BenchError(f"Feast in {_rel(FEAST_VENV)} does not import as {FEAST_VERSION}: {reason}")


# --- the Feast side --------------------------------------------------------------------------


@contextmanager
def feast_db() -> Iterator[None]:
    """Redis db :data:`FEAST_DB`, checked empty before and flushed after (only then)."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=FEAST_DB, socket_timeout=10)
    try:
        try:
            keys = client.dbsize()
        except redis.RedisError as exc:
            raise BenchError(f"cannot reach Redis at {REDIS_HOST}:{REDIS_PORT}: {exc}") from None
        if keys:
            raise BenchError(
                f"Redis db {FEAST_DB} at {REDIS_HOST}:{REDIS_PORT} already holds {keys} keys;"
                " it may be someone else's, so it is not flushed: empty it or change FEAST_DB"
            )
        try:
            yield
        finally:
            client.flushdb()
            progress(f"flushed Feast's Redis db {FEAST_DB}")
    finally:
        client.close()


def run_feast_peer(python: Path, parquet: Path, reads_file: Path) -> dict[str, Any]:
    """Run ``feast_peer.peer`` in the Feast venv; its figures (raises :class:`BenchError`)."""
    out = FEAST_DIR / "peer_result.json"
    out.unlink(missing_ok=True)
    command = [
        str(python), "-m", "feast_peer.peer",
        "--parquet", str(parquet), "--repo", str(FEAST_DIR / "repo"), "--reads", str(reads_file),
        "--redis", f"{REDIS_HOST}:{REDIS_PORT}", "--db", str(FEAST_DB),
        "--warmup", str(WARMUP), "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "loadtest")}
    env.pop("VIRTUAL_ENV", None)
    try:  # Feast prints to stdout: send it to our stderr so our stdout stays one JSON object
        done = subprocess.run(command, env=env, stdout=sys.stderr, timeout=PEER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"the Feast side gave no result in {PEER_TIMEOUT_S} s") from None
    if not out.exists():
        raise BenchError(f"the Feast side exited {done.returncode} without a result (traceback above)")
    result: dict[str, Any] = json.loads(out.read_text())
    if "error" in result:
        raise BenchError(f"the Feast side failed: {result['error']}")
    return result


# --- our side --------------------------------------------------------------------------------


def bench_ours(frame: pd.DataFrame, names: list[str], reads: dict[str, Any]) -> dict[str, Any]:
    """Fill a RedisStore under a unique prefix, time get and get_many; keys removed after."""
    prefix = f"nivesh:bench-feast:{uuid.uuid4().hex[:12]}"
    store = RedisStore(OURS_URL, prefix=prefix, timeout_s=5.0)
    try:
        seconds = _fill(store, frame, names)
        progress(f"ours: filled {len(frame):,} rows in {seconds:.1f} s; timing get / get_many ...")
        entity_id = reads["one"][0]
        return {
            "one": time_calls(lambda one: store.get(VIEW, one), reads["one"], WARMUP),
            "hundred": time_calls(lambda batch: store.get_many(VIEW, batch), reads["hundred"], WARMUP),
            "sample": {"entity_id": entity_id, "features": store.get(VIEW, entity_id)},
        }
    finally:
        store.close()
        _unlink_prefix(prefix)


def _fill(store: RedisStore, frame: pd.DataFrame, names: list[str]) -> float:
    started = time.perf_counter()
    for start in range(0, len(frame), WRITE_BATCH):
        rows = frame.iloc[start : start + WRITE_BATCH].set_index("user_id")[names].to_dict("index")
        store.put_many(VIEW, rows, ttl=TTL, event_time=EVENT_TIME)
    return time.perf_counter() - started


def _unlink_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(OURS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1_000))
        for start in range(0, len(keys), 1_000):
            client.unlink(*keys[start : start + 1_000])
    finally:
        client.close()


# --- the comparison --------------------------------------------------------------------------


def check_same_row(ours: dict[str, Any], feast: dict[str, Any]) -> None:
    """Both sides must serve the same values for the same entity, or the timings mean nothing."""
    mine, theirs = ours["features"] or {}, feast["features"]
    if ours["entity_id"] != feast["entity_id"] or set(mine) != set(theirs):
        raise BenchError(f"the two sides served different rows: {ours} vs {feast}")
    for name, value in mine.items():
        other = theirs[name]
        if not (value == other or (isinstance(value, float) and math.isclose(value, other, rel_tol=1e-12))):
            raise BenchError(f"{ours['entity_id']} {name}: ours {value!r}, Feast {other!r}")


def figures(users: int, features: int, ours: dict[str, Any], feast: dict[str, Any]) -> dict[str, Any]:
    """The result object of :func:`bench_feast`."""
    result: dict[str, Any] = {"users": users, "features": features, "feast_version": feast["feast_version"]}
    for side, values in (("ours_redis", ours), ("feast", feast)):
        for size, key in (("1", "one"), ("100", "hundred")):
            result[f"{side}_{size}_p50_ms"], result[f"{side}_{size}_p99_ms"] = values[key]
    for size in ("1", "100"):
        result[f"ratio_p99_{size}"] = round(
            result[f"feast_{size}_p99_ms"] / result[f"ours_redis_{size}_p99_ms"], 2
        )
    return result


def _check_args(users: int, features: int, reads: int) -> None:
    if not BATCH <= users <= 1_000_000:
        raise BenchError(f"users must be {BATCH}..1,000,000, got {users}")
    if not 1 <= features <= 200:
        raise BenchError(f"features must be 1..200, got {features}")
    if not 1 <= reads <= 100_000:
        raise BenchError(f"reads must be 1..100,000, got {reads}")


def bench_feast(
    users: int = 100_000, features: int = 30, reads: int = 2_000, seed: int = 42
) -> dict[str, Any]:
    """p50/p99 (ms) of 1- and 100-entity reads, ours (RedisStore) and Feast's SDK, and the p99 ratios.

    Returns users, features, feast_version, ``{ours_redis,feast}_{1,100}_{p50,p99}_ms`` and
    ``ratio_p99_{1,100}`` (Feast p99 / ours). Raises :class:`BenchError` (one line) when it
    cannot run.
    """
    _check_args(users, features, reads)
    python = ensure_feast_venv()
    FEAST_DIR.mkdir(parents=True, exist_ok=True)
    frame = make_frame(users, features, seed)
    names = [column for column in frame.columns if column not in {"user_id", "event_timestamp"}]
    parquet = FEAST_DIR / f"{VIEW.name}.parquet"
    frame.to_parquet(parquet, index=False)
    reads_file = FEAST_DIR / "reads.json"
    plan = draw_reads(frame["user_id"].tolist(), reads, seed)
    reads_file.write_text(json.dumps(plan))
    progress(f"wrote {users:,} x {features} features to {_rel(parquet)}; running the Feast side ...")
    with feast_db():
        feast = run_feast_peer(python, parquet, reads_file)
        progress(f"Feast {feast['feast_version']}: materialized in {feast['materialize_s']} s")
        ours = bench_ours(frame, names, plan)
    check_same_row(ours["sample"], feast["sample"])
    return figures(users, features, ours, feast)


def main(argv: list[str]) -> int:
    """Run the benchmark; print its JSON object, or one line on stderr saying why it could not run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    try:
        result = bench_feast(args.users, args.features, args.reads, args.seed)
    except (BenchError, FeatureStoreError, redis.RedisError) as exc:
        print(f"bench_feast: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
