"""Chat flood: one key's long chats against the assistant, and what the other routes answered.

Issue 16, finding 2: 45 concurrent chats of 2,000 unusual characters, from one key and within its
rate limit, froze ``/predict/intent`` and ``/ready`` for 40 s. This script replays that flood
against the code of a checkout (``--checkout``, default this repository) and measures it.

It starts the server (``python -m nivesh_ml.serving``, one uvicorn worker, this repository's
``.venv`` Python with ``PYTHONPATH=<checkout>/src`` so the checkout's code is served) on a free
127.0.0.1 port over ``--home`` (champions of the six models, the assistant included, and an API
key in ``<home>/api_key``), with the default rate limit (120/minute a key) and no registry
polling, and waits until it is ready. Then:

- ``--chats`` concurrent ``POST /assistant/chat``, each one user turn of ``--chars`` characters
  drawn (seeded) from Devanagari, emoji, CJK and combining marks, all with the home's key; each
  client waits up to ``--chat-timeout`` s, or gives up after 5 s with ``--abandon`` (it closes the
  connection, as an impatient client does);
- meanwhile, every ``--interval`` s (open loop: a tick never waits for an earlier answer),
  ``POST /predict/intent`` and ``GET /ready`` from a client of their own, until ``--window`` s
  after the flood began or every chat has ended; each waits up to 60 s. They stand for other
  users: they carry static keys of their own (``NIVESH_API_KEYS``), enough of them that no key
  passes its rate limit, so a slow answer is the server's and not a 429;
- 5 s after the last chat ended, and again 10 s later, the server's CPU time (user + system, the
  process and its children: ``/proc/<pid>/stat``): growth near zero means no abandoned chat is
  still computing.

Run ``python loadtest/chat_flood.py [--checkout /tmp/nivesh-before] [--abandon]`` (with
``NIVESH_DATASETS_DIR`` set as for the server); it prints a Markdown row for docs/BENCHMARKS.md
under its header, the route rejections the server counted (``nivesh_route_rejected``, where the
code has it) and the warnings and errors of the server log. The log and the figures as JSON stay
in a folder under /tmp, named at the start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from nivesh_ml.config import OFFLINE_ENV

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_HOME = Path("/tmp/quickhome/var")
DEFAULT_DATASETS = "/work/shared/data"
INTENT_QUERY = {"query": "how much did I spend on food last month"}
PROBE_TIMEOUT_S = 60.0
ABANDON_AFTER_S = 5.0
RATE_PER_KEY = 120  # the server's default limit a minute; the probes keep each key well under it
PROBE_KEY_BUDGET = 100  # requests a minute one probe key is given
CPU_SETTLE_S = 5.0
CPU_SPAN_S = 10.0
START_TIMEOUT_S = 300.0  # six models load before the server answers
# Unicode blocks the chats draw from, and how often: the tokenizer splits these into many tokens.
ALPHABETS: tuple[tuple[int, int, float], ...] = (
    (0x0905, 0x0939, 0.30),  # Devanagari letters
    (0x093E, 0x094D, 0.10),  # Devanagari vowel signs and virama
    (0x1F300, 0x1F5FF, 0.15),  # symbols and pictographs
    (0x1F600, 0x1F64F, 0.10),  # emoticons
    (0x4E00, 0x9FFF, 0.25),  # CJK ideographs
    (0x0300, 0x036F, 0.10),  # combining diacritical marks
)
HEADER = [
    "run", "chats 200 / 503 (Retry-After) / timed out / other", "chat p50 / max (s)",
    "intent p50 / p99 / max (ms)", "intent non-200", "/ready p50 / p99 / max (ms)", "/ready non-200",
    "server CPU-s in 10 s, 5 s after the last chat",
]  # fmt: skip
LOG_PROBLEM = re.compile(
    r"\b(WARNING|ERROR|CRITICAL|Traceback)\b|\"level\": ?\"(warning|error|critical)\"", re.I
)


@dataclass
class Answer:
    """One request: when it was sent (s after the flood began), how long it took, what came back."""

    sent_s: float
    seconds: float
    status: str  # the HTTP status, or "timeout", or the client error's class
    retry_after: bool = False


@dataclass
class Flood:
    """A whole run: the answers, the server's CPU seconds around the end, its log and counters."""

    label: str
    checkout: str
    folder: str
    chats: list[Answer] = field(default_factory=list)
    intent: list[Answer] = field(default_factory=list)
    ready: list[Answer] = field(default_factory=list)
    chats_done_s: float = 0.0
    cpu_s: list[float] = field(default_factory=list)  # at the last chat's end, +5 s, +15 s
    rejected: dict[str, float] | str = field(default_factory=dict)
    log_problems: dict[str, int] = field(default_factory=dict)  # until the server was told to stop
    shutdown_problems: dict[str, int] = field(default_factory=dict)  # after: requests it cut short


def chat_text(chars: int, seed: int) -> str:
    """``chars`` characters drawn from :data:`ALPHABETS`, the same for the same seed."""
    rng = random.Random(seed)
    blocks = [(low, high) for low, high, _ in ALPHABETS]
    weights = [weight for _, _, weight in ALPHABETS]
    text = [chr(rng.randint(*rng.choices(blocks, weights)[0])) for _ in range(chars)]
    text[0] = "क"  # a combining mark needs a base to sit on
    return "".join(text)


def probe_keys(interval_s: float) -> tuple[list[str], list[str]]:
    """Static keys for the intent and the /ready probes, enough that none passes its limit."""
    per_minute = 60.0 / interval_s
    count = max(1, math.ceil(per_minute / PROBE_KEY_BUDGET))
    fresh = [f"flood-probe-{n}-{secrets.token_urlsafe(16)}" for n in range(2 * count)]
    return fresh[:count], fresh[count:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(checkout: Path, home: Path, port: int, static_keys: list[str]) -> dict[str, str]:
    # Only settings both the old and the new code know; the caller's NIVESH_* stay out.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIVESH_") and k != "PYTHONPATH"}
    serving = {
        "PYTHONPATH": str(checkout / "src"),
        "NIVESH_HOME": str(home),
        "NIVESH_DATASETS_DIR": os.environ.get("NIVESH_DATASETS_DIR", DEFAULT_DATASETS),
        "NIVESH_HOST": "127.0.0.1",
        "NIVESH_PORT": str(port),
        "NIVESH_RELOAD_INTERVAL_S": "0",
        "NIVESH_API_KEYS": json.dumps(static_keys),
        "NIVESH_LOG_LEVEL": "WARNING",
    }
    return {**env, **OFFLINE_ENV, **serving}


def _check_code(checkout: Path, env: dict[str, str]) -> None:
    """Refuse to measure unless the server would import the checkout's code."""
    found = subprocess.run(
        [str(PYTHON), "-c", "import nivesh_ml; print(nivesh_ml.__file__)"],
        env=env, cwd=checkout, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not Path(found).resolve().is_relative_to((checkout / "src").resolve()):
        raise SystemExit(f"chat_flood: the server would import {found}, not {checkout}/src")


@contextmanager
def server(checkout: Path, home: Path, log: Path, keys: list[str]) -> Iterator[tuple[str, psutil.Process]]:
    """The checkout's server on ``home``, ready, as its URL and process; stopped afterwards."""
    port = _free_port()
    env = _server_env(checkout, home, port, keys)
    _check_code(checkout, env)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PYTHON), "-m", "nivesh_ml.serving"],
            cwd=checkout,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(_wait_ready(url, keys[0], process, log))
        yield url, psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def _wait_ready(url: str, key: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(
                    f"chat_flood: the server exited ({process.returncode}): {log.read_text()[-2000:]}"
                )
            try:
                if (await client.get("/ready", headers={"X-API-Key": key})).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(1)
    raise SystemExit(f"chat_flood: the server was not ready in {START_TIMEOUT_S:.0f} s; see {log}")


async def warm_up(url: str, key: str) -> None:
    """One short chat and one intent query, so the flood does not measure a cold start."""
    headers = {"X-API-Key": key}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=PROBE_TIMEOUT_S) as client:
        chat = {"messages": [{"role": "user", "content": "Can I afford a 20k EMI?"}]}
        for path, body in (("/assistant/chat", chat), ("/predict/intent", INTENT_QUERY)):
            answer = await client.post(path, json=body)
            if answer.status_code != 200:
                raise SystemExit(
                    f"chat_flood: warm-up {path} answered {answer.status_code}: {answer.text[:500]}"
                )


async def timed(
    client: httpx.AsyncClient, t0: float, limit_s: float, method: str, path: str, **kw: Any
) -> Answer:
    """One request, given up (its connection closed) after ``limit_s`` seconds."""
    sent = time.monotonic()
    try:
        async with asyncio.timeout(limit_s):
            response = await client.request(method, path, **kw)
        status, retry = str(response.status_code), "retry-after" in response.headers
    except TimeoutError:
        status, retry = "timeout", False
    except httpx.HTTPError as error:
        status, retry = type(error).__name__, False
    return Answer(round(sent - t0, 3), time.monotonic() - sent, status, retry)


async def probe(
    url: str,
    keys: tuple[list[str], list[str]],
    t0: float,
    stop: asyncio.Event,
    interval: float,
    window: float,
) -> tuple[list[Answer], list[Answer]]:
    """Intent and /ready every ``interval`` s (open loop) until ``stop`` or ``window`` s; their answers."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    tasks: list[tuple[str, asyncio.Task[Answer]]] = []
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=PROBE_TIMEOUT_S + 5) as client:
        for tick in range(int(window / interval)):
            intent_key, ready_key = (group[tick % len(group)] for group in keys)
            intent = timed(client, t0, PROBE_TIMEOUT_S, "POST", "/predict/intent", json=INTENT_QUERY,
                           headers={"X-API-Key": intent_key})  # fmt: skip
            ready = timed(client, t0, PROBE_TIMEOUT_S, "GET", "/ready", headers={"X-API-Key": ready_key})
            tasks += [("intent", asyncio.create_task(intent)), ("ready", asyncio.create_task(ready))]
            next_tick = t0 + (tick + 1) * interval
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, next_tick - time.monotonic()))
                break
            except TimeoutError:
                continue
        answers = [(route, await task) for route, task in tasks]
    return [a for r, a in answers if r == "intent"], [a for r, a in answers if r == "ready"]


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds of the server and its children (``/proc/<pid>/stat``)."""
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def cpu_after(process: psutil.Process, done: asyncio.Event) -> list[float]:
    """CPU seconds when the last chat ended, :data:`CPU_SETTLE_S` later, and :data:`CPU_SPAN_S` after that."""
    await done.wait()
    samples = [cpu_seconds(process)]
    for pause in (CPU_SETTLE_S, CPU_SPAN_S):
        await asyncio.sleep(pause)
        samples.append(cpu_seconds(process))
    return samples


async def flood(
    url: str,
    key: str,
    process: psutil.Process,
    probes: tuple[list[str], list[str]],
    options: argparse.Namespace,
    result: Flood,
) -> None:
    """The chats, the probes beside them and the CPU samples after them, into ``result``."""
    limit_s = ABANDON_AFTER_S if options.abandon else options.chat_timeout
    limits = httpx.Limits(max_connections=options.chats, max_keepalive_connections=0)
    headers = {"X-API-Key": key}
    bodies = [{"messages": [{"role": "user", "content": chat_text(options.chars, options.seed + n)}]}
              for n in range(options.chats)]  # fmt: skip
    done = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers, timeout=limit_s + 5) as client:
        t0 = time.monotonic()
        chats = [asyncio.create_task(timed(client, t0, limit_s, "POST", "/assistant/chat", json=body))
                 for body in bodies]  # fmt: skip
        probing = asyncio.create_task(probe(url, probes, t0, done, options.interval, options.window))
        sampling = asyncio.create_task(cpu_after(process, done))
        result.chats = list(await asyncio.gather(*chats))
        result.chats_done_s = time.monotonic() - t0
        done.set()
        result.intent, result.ready = await probing
        result.cpu_s = await sampling


def rejected(url: str) -> dict[str, float] | str:
    """``nivesh_route_rejected`` by route and reason (empty where the code has no such counter);
    what went wrong instead when ``/metrics`` does not answer in 10 s (a server still frozen)."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=10.0).text
    except httpx.HTTPError as error:
        return f"/metrics did not answer: {type(error).__name__}"
    found = re.findall(r"^nivesh_route_rejected_total\{(.*)\} (\S+)$", text, re.M)
    return {labels: float(value) for labels, value in found if float(value)}


def log_problems(log: Path, start: int = 0, end: int | None = None) -> dict[str, int]:
    """Warning and error lines of the server log between two byte offsets, counted by their first
    160 characters."""
    with log.open("rb") as text:
        text.seek(start)
        lines = text.read(None if end is None else end - start).decode(errors="replace").splitlines()
    problems: Counter[str] = Counter()
    for line in lines:
        if LOG_PROBLEM.search(line):
            problems[re.sub(r"\d", "0", line.strip())[:160]] += 1
    return dict(problems.most_common())


def run(options: argparse.Namespace) -> Flood:
    """Serve the checkout, flood it, and collect what happened."""
    folder = Path(tempfile.mkdtemp(prefix="nivesh-chat-flood-"))
    print(f"chat_flood: server log and figures in {folder}", file=sys.stderr)
    label = options.label or f"{options.checkout.name}{' --abandon' if options.abandon else ''}"
    result = Flood(label, str(options.checkout), str(folder))
    key = (options.home / "api_key").read_text().strip()
    intent_keys, ready_keys = probe_keys(options.interval)
    served = server(options.checkout, options.home, folder / "server.log", intent_keys + ready_keys)
    with served as (url, process):
        asyncio.run(warm_up(url, intent_keys[0]))
        asyncio.run(flood(url, key, process, (intent_keys, ready_keys), options, result))
        (folder / "flood.json").write_text(json.dumps(asdict(result), indent=2))
        result.rejected = rejected(url)
        stopping = (folder / "server.log").stat().st_size
    result.log_problems = log_problems(folder / "server.log", 0, stopping)
    result.shutdown_problems = log_problems(folder / "server.log", stopping)
    (folder / "flood.json").write_text(json.dumps(asdict(result), indent=2))
    return result


def _ms(answers: list[Answer]) -> str:
    seconds = sorted(a.seconds for a in answers)
    if not seconds:
        return "-"
    p99 = seconds[min(len(seconds) - 1, math.ceil(0.99 * len(seconds)) - 1)]
    return f"{1000 * statistics.median(seconds):,.0f} / {1000 * p99:,.0f} / {1000 * seconds[-1]:,.0f}"


def _non_200(answers: list[Answer]) -> str:
    counts = Counter(a.status for a in answers if a.status != "200")
    kinds = ", ".join(f"{n} x {status}" for status, n in counts.most_common())
    return f"{sum(counts.values())} of {len(answers)}" + (f" ({kinds})" if kinds else "")


def cells(result: Flood) -> list[str]:
    """The run as a row of :data:`HEADER`."""
    chats = Counter(a.status for a in result.chats)
    busy = sum(1 for a in result.chats if a.status == "503" and a.retry_after)
    other = len(result.chats) - chats["200"] - busy - chats["timeout"]
    chat_s = [a.seconds for a in result.chats]
    cpu = result.cpu_s[2] - result.cpu_s[1]
    return [
        result.label,
        f"{chats['200']} / {busy} / {chats['timeout']} / {other}",
        f"{statistics.median(chat_s):.1f} / {max(chat_s):.1f}",
        _ms(result.intent), _non_200(result.intent), _ms(result.ready), _non_200(result.ready),
        f"{cpu:.2f} ({100 * cpu / CPU_SPAN_S:.0f}% of a core)",
    ]  # fmt: skip


def report(result: Flood) -> str:
    """The header and the row, then what a reader of the figures needs besides."""
    lines = ["| " + " | ".join(row) + " |" for row in (HEADER, ["---"] * len(HEADER), cells(result))]
    other = Counter(a.status for a in result.chats if a.status not in {"200", "timeout"})
    lines.append(f"chats other than 200 and timeout, by status: {dict(other) or 'none'}")
    lines.append(f"every chat ended {result.chats_done_s:.1f} s after the flood began")
    cpu = ", ".join(f"{seconds:.2f}" for seconds in result.cpu_s)
    lines.append(f"server CPU seconds at the last chat's end, +5 s, +15 s: {cpu}")
    lines.append(f"route rejections the server counted: {result.rejected or 'none (or no such counter)'}")
    lines.append(f"server log, warnings and errors: {sum(result.log_problems.values())} lines")
    lines += [f"  {n} x {line}" for line, n in list(result.log_problems.items())[:8]]
    shutdown = sum(result.shutdown_problems.values())
    lines.append(f"server log while it stopped (requests still in flight cut short): {shutdown} lines")
    lines += [f"  {n} x {line}" for line, n in list(result.shutdown_problems.items())[:3]]
    return "\n".join(lines)


def main() -> None:
    """Parse the options, flood, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=REPO, help="the checkout whose code is served")
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME, help="NIVESH_HOME with the six champions")
    parser.add_argument("--chats", type=int, default=45, help="concurrent chats, all from one key")
    parser.add_argument("--chars", type=int, default=2_000, help="characters in each chat's user turn")
    parser.add_argument("--seed", type=int, default=16, help="seed of the chats' characters")
    parser.add_argument("--chat-timeout", type=float, default=60.0, help="how long a chat client waits, s")
    give_up = f"chat clients give up after {ABANDON_AFTER_S:g} s"
    parser.add_argument("--abandon", action="store_true", help=give_up)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between probe ticks")
    parser.add_argument("--window", type=float, default=60.0, help="longest probing after the flood began, s")
    parser.add_argument("--label", default="", help="the run's name in the table")
    options = parser.parse_args()
    if options.chats > RATE_PER_KEY:
        raise SystemExit(f"chat_flood: {options.chats} chats pass one key's limit of {RATE_PER_KEY}/minute")
    print(report(run(options)))


if __name__ == "__main__":
    main()
