"""App DB outages under traffic: what the model server answered, recorded, spilled and lost.

In a temporary folder it starts a private PostgreSQL (initdb, a free port; run as the
``postgres`` user under root) and a real server process (``python -m nivesh_ml.serving``, one
uvicorn worker) whose app DB it is, with tiny intent and credit-risk champions (the fault tests'
harness, ``tests/faults/harness.py``: some requests carry NaN or NUL, some users' online features
an infinity and a NUL). Under steady traffic (``--rate`` requests/s from four clients) it stops
PostgreSQL (``pg_ctl stop -m fast``) for ``--seconds``, starts it again, then freezes it
(SIGSTOP on every PostgreSQL process) as long and thaws it, and after each waits until the
prediction log settles. Run ``python loadtest/faults.py [--seconds 4 --rate 100]``; it prints
the fault table (Markdown) for docs/BENCHMARKS.md: answered (200 with a prediction id),
recorded (in ``model_prediction``), spilled (to the spill file, queue overflow included),
replayed, quarantined, lost (answered but in neither the table nor the quarantine: must be 0).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.faults.harness import FaultRow, ServerProcess, make_home, run_outage, with_database  # noqa: E402
from tests.faults.servers import PostgresServer, postgres_unavailable  # noqa: E402

HEADER = ["outage", "traffic (req/s)", "answered", "recorded", "spilled", "replayed", "quarantined", "lost"]


def measure(seconds: float, rate: float, replay_interval_s: float) -> list[FaultRow]:
    """Both outages, one after the other, against one server process; their rows."""
    reason = postgres_unavailable()
    if reason is not None:
        raise SystemExit(f"cannot run a private PostgreSQL: {reason}")
    with tempfile.TemporaryDirectory(prefix="nivesh-faults-") as folder:
        pg = PostgresServer()
        try:
            pg.start()
            settings = with_database(make_home(Path(folder) / "var"), pg.url)
            env = {"NIVESH_PREDLOG_REPLAY_INTERVAL_S": str(replay_interval_s), "NIVESH_LOG_LEVEL": "WARNING"}
            settle_s = replay_interval_s * 4
            with ServerProcess(settings, Path(folder) / "server.log", **env) as server:
                return [
                    run_outage(server.url, pg, settings.home, kind, seconds, rate, settle_s=settle_s)
                    for kind in ("stop", "freeze")
                ]
        finally:
            pg.close()


def table(rows: list[FaultRow]) -> str:
    """The rows as a Markdown table."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    """Parse the options, measure, print the table (and the non-200 answers)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="how long each outage lasts")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second, all clients")
    parser.add_argument(
        "--replay-interval", type=float, default=5.0, help="NIVESH_PREDLOG_REPLAY_INTERVAL_S of the server"
    )
    options = parser.parse_args()
    rows = measure(options.seconds, options.rate, options.replay_interval)
    print(table(rows))
    for row in rows:
        print(f"{row.outage}: answers other than 200 by status: {row.refused or 'none'}")
    if any(row.lost for row in rows):
        raise SystemExit("predictions were lost")


if __name__ == "__main__":
    main()
