"""The spill folder shared by two server workers: no record appended by one is lost to the other's replay."""

from __future__ import annotations

import threading
from pathlib import Path

from nivesh_ml.serving.spill import SpillFiles


def test_appends_and_claims_from_two_workers_never_lose_a_record(tmp_path: Path) -> None:
    path = tmp_path / "spill" / "predictions.jsonl"
    writer, replayer = SpillFiles(path), SpillFiles(path)  # as two processes: separate locks and handles
    appended, replayed, done = 2_000, [], threading.Event()

    def append() -> None:
        for number in range(appended):
            writer.append([{"id": number}])
        done.set()

    def replay() -> None:
        while not done.is_set() or path.exists():
            with replayer.replaying() as mine:
                assert mine
                source = replayer.claim()
                if source is not None:
                    rows, _ = replayer.read(source)
                    replayed.extend(row["id"] for row in rows)
                    replayer.finish(source)

    threads = [threading.Thread(target=append), threading.Thread(target=replay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(replayed) == list(range(appended))  # every record once: none landed in a file already read


def test_one_worker_replays_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "spill" / "predictions.jsonl"
    first, second = SpillFiles(path), SpillFiles(path)
    with first.replaying() as mine:
        assert mine
        with second.replaying() as theirs:
            assert not theirs
    with second.replaying() as theirs:
        assert theirs
