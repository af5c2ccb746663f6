"""One day of the living platform at full size: a day of traffic to all six models, then the day's loop.

Run it on a home that ``make run`` (``nivesh-ml up``) made, so all six champions are there::

    NIVESH_HOME=var .venv/bin/python loadtest/living_day.py [--credit 2000 --anomaly 2000 ...]

1. The server starts on a free loopback port (``serving.process.server_process``) and gets a day
   of traffic: credit risk and spending by ``user_id`` (random users), anomaly on the data set's
   last day's debits (each with the user's 24 hours before it as context, as ``simulate`` sends
   them), intent and NER on the validation splits' texts, the assistant on the validation chats'
   first user turns. Every answer must be a 200.
2. ``nivesh-ml pipeline daily`` runs in a child process (advance one day, validate, join the
   outcomes, incremental build, materialise, drift for the six models over the traffic, triggers,
   canaries); its JSON report gives the seconds of each step and the child's peak RSS is read
   from ``getrusage``.

Prints one JSON line: the traffic sent per model, the day's steps, wall time and peak RSS, the
drift verdicts. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from nivesh_ml.config import load_settings
from nivesh_ml.serving.keys import create_key
from nivesh_ml.serving.process import server_process
from nivesh_ml.simulate.loop import debit_requests

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--credit", type=int, default=2000, help="credit-risk scores by user_id")
    parser.add_argument("--spending", type=int, default=500, help="spending forecasts by user_id")
    parser.add_argument("--anomaly", type=int, default=2000, help="debits of the last day scored")
    parser.add_argument("--intent", type=int, default=300, help="intent queries")
    parser.add_argument("--ner", type=int, default=300, help="NER texts")
    parser.add_argument("--assistant", type=int, default=40, help="assistant chats (a CPU LLM: slow)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = load_settings()
    rng = np.random.default_rng(args.seed)
    key = create_key(settings, "living-day", ["predict"])
    env = {"NIVESH_RATE_LIMIT": "1000000/minute", "NIVESH_FEATURE_REFRESH_INTERVAL_S": "0"}
    sent: dict[str, int] = {}
    began = time.monotonic()
    with (
        server_process(settings.home, settings.home / "logs" / "living-day-server.log", key, env) as server,
        httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=120) as http,
    ):
        for route, body in _traffic(settings, args, rng):
            response = http.post(route, json=body)
            if response.status_code != 200:
                raise SystemExit(f"{route} answered {response.status_code}: {response.text[:300]}")
            sent[route] = sent.get(route, 0) + 1
        time.sleep(2.0)  # the prediction log's last batch
    traffic_s = time.monotonic() - began
    began = time.monotonic()
    cli = Path(sys.executable).with_name("nivesh-ml")
    command = [str(cli), "pipeline", "daily", "--days", "1", "--window", "2h"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # nosec B603  # our own CLI
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"pipeline daily failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "users": settings.users,
                "traffic": sent,
                "traffic_s": round(traffic_s, 1),
                "day_wall_s": round(wall, 1),
                "day_step_seconds": report["step_seconds"],
                "day_peak_rss_mb": round(peak_mb),
                "new_rows": report["new_rows"],
                "materialized": report["materialized"],
                "drift": [
                    {key: item[key] for key in ("model", "status", "drift_share", "drifted")}
                    for item in report["drift"]
                ],
                "load": os.getloadavg()[0],
            }
        )
    )


def _traffic(
    settings: Any, args: argparse.Namespace, rng: np.random.Generator
) -> list[tuple[str, dict[str, Any]]]:
    users = [f"U{index:07d}" for index in range(1, settings.users + 1)]
    calls: list[tuple[str, dict[str, Any]]] = []
    calls += [("/predict/credit-risk", {"user_id": u}) for u in rng.choice(users, args.credit)]
    calls += [
        ("/predict/spending", {"user_id": u, "horizon_months": 1}) for u in rng.choice(users, args.spending)
    ]
    calls += [("/predict/anomaly", body) for body in debit_requests(settings, args.anomaly, rng)]
    calls += [
        ("/predict/intent", {"query": t}) for t in _texts("intents/validation.jsonl", "text", args.intent)
    ]
    calls += [("/predict/ner", {"text": t}) for t in _texts("ner/dev.jsonl", "text", args.ner)]
    chats = [json.loads(line) for line in (ROOT / "data/assistant/validation.jsonl").read_text().splitlines()]
    turns = [next(m["content"] for m in chat["messages"] if m["role"] == "user") for chat in chats]
    calls += [
        ("/assistant/chat", {"messages": [{"role": "user", "content": t}]}) for t in turns[: args.assistant]
    ]
    order = rng.permutation(len(calls))  # the models' traffic interleaved, as a day's would be
    return [calls[i] for i in order]


def _texts(path: str, field: str, count: int) -> list[str]:
    lines = (ROOT / "data" / path).read_text().splitlines()
    texts = [str(json.loads(line)[field]) for line in lines if line.strip()]
    return (texts * (count // max(len(texts), 1) + 1))[:count]


if __name__ == "__main__":
    main()
