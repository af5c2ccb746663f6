"""Soak of the model server: memory and latency over minutes of mixed traffic (issue 16).

It starts the server (``python -m nivesh_ml.serving``, one uvicorn worker) on a free 127.0.0.1 port
over a home that holds champions of the six models, an API key in ``<home>/api_key`` and online
features for users ``U0000001`` .. ``U<users>``, with a rate limit no client reaches, and waits
until it is ready. Then ``--minutes`` rounds of wrk (``--connections`` connections, one wrk thread
each, closed loop) run back to back, ``--round-seconds`` each, with ``mixed.lua``: the five
prediction routes, the assistant once in 200 requests, ``/feedback``, ``/ready`` and ``/models``,
with bodies that vary. For each round it records requests, req/s, latency percentiles overall and
per route (timed per request by ``mixed.lua``: wrk's own are corrected for coordinated omission),
answers other than 2xx by kind, and the server's RSS (the process and its children) sampled every
``--sample-seconds``: at the start, the most and at the end of the round; plus its threads, open
files and the 1-minute load average.

Run ``NIVESH_DATASETS_DIR=... python loadtest/soak.py [--home /tmp/quickhome/var --minutes 10]``
(``--copy`` serves a temporary copy of the home, so the soak's predictions stay out of it). It
prints Markdown tables for docs/BENCHMARKS.md and a verdict: RSS has levelled off when it grew
less than 5% over the last five rounds. The server log and the figures (``soak.json``) stay in a
folder under /tmp, named at the start. Needs ``wrk`` (Debian/Ubuntu: ``apt-get install -y wrk``).
``python loadtest/bench.py --only soak`` runs it on the configured ``NIVESH_HOME`` and records
one summary row; ``make bench`` leaves it out (it takes ten minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from nivesh_ml.config import OFFLINE_ENV

LOADTEST = Path(__file__).resolve().parent
MIXED_LUA = LOADTEST / "mixed.lua"
DEFAULT_HOME = Path("/tmp/quickhome/var")
API_KEY_FILE = "api_key"  # what `make run` writes under the home (pipelines/up.py)
RATE_LIMIT = "1000000/minute"  # the soak measures the server, not its limiter's refusals
LEVELLED = 0.05  # RSS growth over the last rounds under which it has levelled off
LAST_ROUNDS = 5
WRK_TIMEOUT = "30s"  # the assistant route's own timeout; wrk's default (2 s) would drop its answers
START_TIMEOUT_S = 300.0  # six models load before the server answers
HEADER = [
    "minute", "requests", "req/s", "p50 (ms)", "p99 (ms)", "non-2xx",
    "RSS MiB start / max / end", "threads", "open files", "load 1m",
]  # fmt: skip
LOG_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL|Traceback)\b", re.IGNORECASE)


@dataclass
class Round:
    """One round of wrk and what the server looked like during it."""

    minute: int
    requests: int
    seconds: float
    latency: dict[str, int]  # n, p50_us, p90_us, p99_us, p100_us
    routes: dict[str, dict[str, int]]  # the same, per route
    corrected_p99_ms: float  # wrk's own, corrected for coordinated omission
    errors: dict[str, int]
    socket_errors: dict[str, int]
    rss_mib: list[float]
    threads: int
    open_files: int
    load_1m: float

    @property
    def failed(self) -> int:
        """Answers other than 2xx, and requests lost to socket errors."""
        return sum(self.errors.values()) + sum(self.socket_errors.values())

    def cells(self) -> list[str]:
        """The round as a row of :data:`HEADER`."""
        rss = f"{self.rss_mib[0]:,.0f} / {max(self.rss_mib):,.0f} / {self.rss_mib[-1]:,.0f}"
        return [
            str(self.minute), f"{self.requests:,}", f"{self.requests / self.seconds:,.1f}",
            _ms(self.latency["p50_us"]), _ms(self.latency["p99_us"]), f"{self.failed:,}", rss,
            str(self.threads), str(self.open_files), f"{self.load_1m:.1f}",
        ]  # fmt: skip


@dataclass
class Soak:
    """A whole soak: its rounds, the server's own counters and the problems its log reported."""

    home: str
    folder: str
    connections: int
    rss_ready_mib: float
    load_before: tuple[float, ...]
    rounds: list[Round] = field(default_factory=list)
    load_after: tuple[float, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    log_problems: dict[str, int] = field(default_factory=dict)


def _ms(us: float) -> str:
    return f"{us / 1000:,.0f}" if us >= 100_000 else f"{us / 1000:.1f}"


def rss_mib(server: psutil.Process) -> float:
    """Resident memory of the server process and all its children, MiB."""
    total = 0
    for process in [server, *server.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:  # a child that ended between the listing and the read
            continue
    return total / 2**20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, key: str | None = None, timeout: float = 10.0) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _server_env(home: Path, port: int) -> dict[str, str]:
    # NIVESH_* of the caller (a Redis store, other keys) must not leak in; the data sets may.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIVESH_") or k == "NIVESH_DATASETS_DIR"}
    serving = {
        "NIVESH_HOME": str(home),
        "NIVESH_HOST": "127.0.0.1",
        "NIVESH_PORT": str(port),
        "NIVESH_RATE_LIMIT": RATE_LIMIT,
        "NIVESH_LOG_LEVEL": "WARNING",  # warnings and errors only: what a soak should surface
    }
    return {**env, **OFFLINE_ENV, **serving}


@contextmanager
def server(home: Path, log: Path, key: str) -> Iterator[tuple[str, psutil.Process]]:
    """The server on ``home``, ready (``/ready`` 200), as its URL and process; stopped afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        command = [sys.executable, "-m", "nivesh_ml.serving"]
        process = subprocess.Popen(command, env=_server_env(home, port), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(url, key, process, log)
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_ready(url: str, key: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"soak: the server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            if _get(f"{url}/health", timeout=2)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(1)
    else:
        raise SystemExit(f"soak: the server did not answer /health in {START_TIMEOUT_S:.0f} s; see {log}")
    status, body = _get(f"{url}/ready", key)
    if status != 200:
        raise SystemExit(f"soak: the server is not ready ({status}): {body[:1000]}")


def run_wrk(url: str, env: Mapping[str, str], server: psutil.Process, options: argparse.Namespace) -> Any:
    """One wrk round: ``mixed.lua``'s result, and the server's RSS sampled while it ran."""
    command = ["wrk", f"-t{options.connections}", f"-c{options.connections}", f"-d{options.round_seconds}s"]
    command += ["--timeout", WRK_TIMEOUT, "-s", str(MIXED_LUA), url]
    rss = [rss_mib(server)]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, env=dict(env), stdout=pipe, stderr=pipe, text=True) as wrk:
        while True:
            try:
                out, err = wrk.communicate(timeout=options.sample_seconds)
                break
            except subprocess.TimeoutExpired:
                rss.append(rss_mib(server))
    rss.append(rss_mib(server))
    found = [line for line in out.splitlines() if line.startswith("SOAK_RESULT ")]
    if wrk.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({wrk.returncode}): {err[-2000:]} {out[-2000:]}")
    return json.loads(found[-1].removeprefix("SOAK_RESULT ")), rss


def run_round(
    minute: int, url: str, env: Mapping[str, str], server: psutil.Process, options: argparse.Namespace
) -> Round:
    """One round of ``options.round_seconds`` and the state of the server at its end."""
    result, rss = run_wrk(url, env, server, options)
    return Round(
        minute=minute,
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        latency=result["latency"],
        routes=dict(sorted(result["routes"].items())),
        corrected_p99_ms=result["corrected_p99_us"] / 1000,
        errors=result["errors"],
        socket_errors={name: n for name, n in result["socket_errors"].items() if n},
        rss_mib=rss,
        threads=server.num_threads(),
        open_files=server.num_fds(),
        load_1m=os.getloadavg()[0],
    )


def server_counters(url: str) -> dict[str, float]:
    """The server's counters worth reading after a soak: answers by status and route, prediction log."""
    _, text = _get(f"{url}/metrics")
    totals: dict[str, float] = {}
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.startswith("nivesh_http_requests_total"):
            status = re.search(r'status="(\d+)', series)
            route = re.search(r'route="([^"]*)"', series)
            code = status.group(1) if status else "?"
            series = "requests 2xx" if code.startswith("2") else f"requests {code} {route and route.group(1)}"
        elif not series.startswith(("nivesh_predlog_", "nivesh_http_errors_total")) or "_created" in series:
            continue
        totals[series] = totals.get(series, 0.0) + float(value)
    return dict(sorted(totals.items()))


def log_problems(log: Path) -> dict[str, int]:
    """Warning and error lines of the server log, counted by their first 160 characters."""
    problems: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if LOG_PROBLEM.search(line):
            problems[re.sub(r"\d", "0", line.strip())[:160]] += 1  # ids and times apart, one kind
    return dict(problems.most_common())


def soak(home: Path, options: argparse.Namespace) -> Soak:
    """Serve ``home`` and run the rounds; the folder of the run keeps the log and the figures."""
    if shutil.which("wrk") is None:
        raise SystemExit("soak: wrk is not installed; on Debian/Ubuntu: apt-get install -y wrk")
    key_file = home / API_KEY_FILE
    if not key_file.is_file():
        raise SystemExit(f"soak: no API key in {key_file}; `make run` (nivesh-ml up) writes one")
    key = key_file.read_text().strip()
    folder = Path(tempfile.mkdtemp(prefix="nivesh-soak-"))
    print(f"soak: server log and figures in {folder}", file=sys.stderr)
    served = _copy_home(home, folder) if options.copy else home
    env = {**os.environ, "NIVESH_BENCH_KEY": key, "NIVESH_BENCH_USERS": str(options.users)}
    try:
        with server(served, folder / "server.log", key) as (url, process):
            result = Soak(str(home), str(folder), options.connections, rss_mib(process), os.getloadavg())
            for minute in range(1, options.minutes + 1):
                result.rounds.append(run_round(minute, url, env, process, options))
                print(f"soak: {' | '.join(result.rounds[-1].cells())}", file=sys.stderr)
            result.metrics = server_counters(url)
    finally:
        if served != home:
            shutil.rmtree(served, ignore_errors=True)
    result.load_after = os.getloadavg()
    result.log_problems = log_problems(folder / "server.log")
    (folder / "soak.json").write_text(json.dumps(asdict(result), indent=2))
    return result


def _copy_home(home: Path, folder: Path) -> Path:
    copy = folder / "var"
    shutil.copytree(home, copy, symlinks=True)
    return copy


def _markdown(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def table(rounds: list[Round]) -> str:
    """The rounds as a Markdown table."""
    return _markdown(HEADER, [r.cells() for r in rounds])


def route_table(rounds: list[Round]) -> str:
    """Per route over the rounds: requests, the median and worst minute's p50 and p99, the slowest."""
    rows = []
    for route in sorted({route for r in rounds for route in r.routes}):
        figures = [r.routes[route] for r in rounds if route in r.routes]
        p50s, p99s = ([f[name] for f in figures] for name in ("p50_us", "p99_us"))
        rows.append(
            [
                route,
                f"{sum(f['n'] for f in figures):,}",
                f"{_ms(statistics.median(p50s))} / {_ms(max(p50s))}",
                f"{_ms(statistics.median(p99s))} / {_ms(max(p99s))}",
                _ms(max(f["p100_us"] for f in figures)),
            ]
        )
    head = ["route", "requests", "p50 ms: median / worst minute", "p99 ms: median / worst minute", "max ms"]
    return _markdown(head, rows)


def verdict(rounds: list[Round]) -> tuple[bool, str]:
    """Whether RSS levelled off: it grew under 5% from the end of the round five before the last."""
    span = min(LAST_ROUNDS, len(rounds) - 1)
    if span < 1:
        return False, "RSS: one round only; run more to tell whether it levels off"
    before, after = rounds[-1 - span], rounds[-1]
    growth = after.rss_mib[-1] / before.rss_mib[-1] - 1
    levelled = growth < LEVELLED
    return levelled, (
        f"RSS {'levelled off' if levelled else 'is still growing'}: {before.rss_mib[-1]:,.0f} MiB at the "
        f"end of minute {before.minute}, {after.rss_mib[-1]:,.0f} MiB at the end of minute {after.minute} "
        f"({growth:+.1%} over the last {span}; levelled off means under {LEVELLED:+.0%})"
    )


def summary_row(result: Soak) -> list[str]:
    """One row for bench.py's ``soak`` table: the whole run in a line."""
    rounds = result.rounds
    levelled, _ = verdict(rounds)
    return [
        f"{len(rounds)} x {rounds[0].seconds:.0f} s, {result.connections} connections",
        f"{statistics.mean(r.requests / r.seconds for r in rounds):,.1f}",
        f"{_ms(statistics.median(r.latency['p50_us'] for r in rounds))} / "
        f"{_ms(max(r.latency['p99_us'] for r in rounds))}",
        f"{sum(r.failed for r in rounds):,}",
        f"{result.rss_ready_mib:,.0f} / {rounds[0].rss_mib[-1]:,.0f} / {rounds[-1].rss_mib[-1]:,.0f}",
        "yes" if levelled else "no",
        f"{result.load_before[0]:.1f} / {result.load_after[0]:.1f}",
    ]


def report(result: Soak) -> str:
    """The tables, the verdict and what else a reader of the figures needs."""
    rounds = result.rounds
    load = " -> ".join(", ".join(f"{x:.2f}" for x in avg) for avg in (result.load_before, result.load_after))
    errors: Counter[str] = Counter()
    for r in rounds:
        errors.update(r.errors)
        errors.update({f"socket {name}": n for name, n in r.socket_errors.items()})
    lines = [table(rounds), "", verdict(rounds)[1], "", route_table(rounds), ""]
    lines.append(f"RSS when ready, before traffic: {result.rss_ready_mib:,.0f} MiB")
    lines.append(f"load average (1, 5, 15 min) before -> after: {load}")
    corrected = ", ".join(f"{r.corrected_p99_ms:,.0f}" for r in rounds)
    lines.append(f"wrk's own p99 per minute, corrected for coordinated omission (ms): {corrected}")
    lines.append("answers other than 2xx, and socket errors:" + ("" if errors else " none"))
    lines += [f"  {n:,} x {kind}" for kind, n in errors.most_common()]
    lines.append("server counters at the end:")
    lines += [f"  {series} {value:,.0f}" for series, value in result.metrics.items()]
    lines.append(f"server log, warnings and errors: {sum(result.log_problems.values())} lines")
    lines += [f"  {n} x {line}" for line, n in list(result.log_problems.items())[:8]]
    lines.append(f"bench row: | {' | '.join(summary_row(result))} |")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; also the defaults bench.py runs with."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="the NIVESH_HOME to serve")
    parser.add_argument("--copy", action="store_true", help="serve a temporary copy of the home")
    parser.add_argument("--minutes", type=int, default=10, help="rounds of wrk, back to back")
    parser.add_argument("--round-seconds", type=int, default=60, help="length of one round")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections, a thread each")
    parser.add_argument("--users", type=int, default=200, help="users U0000001.. with online features")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="how often RSS is read")
    return parser.parse_args(argv)


def main() -> None:
    """Run the soak and print its report."""
    options = parse()
    print(report(soak(options.home, options)))


if __name__ == "__main__":
    main()
