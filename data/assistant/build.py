"""Build the assistant's chat splits from the hand-written source, PII redacted.

Reads ``examples.txt`` (the authoring format of :mod:`nivesh_ml.models.assistant.data`), masks
Indian PII in every message, context and text argument with :func:`nivesh_ml.pii.redact`,
de-duplicates, splits each stratum (tool, with or without context) 70/15/15 with seed 42, and
writes ``train.jsonl``, ``validation.jsonl`` and ``test.jsonl`` (Hugging Face chat format,
``{"messages": [system, user, assistant]}``) next to it. Nothing unredacted is written.

Run from the checkout (it imports the installed ``nivesh_ml``)::

    .venv/bin/python data/assistant/build.py            # rewrite the three splits
    .venv/bin/python data/assistant/build.py --check    # exit 1 if the committed splits are stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from nivesh_ml.models.assistant.data import (
    SPLITS,
    parse_source,
    redact_example,
    split_examples,
    to_chat,
    write_chat,
)

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "examples.txt"
SEED = 42


def build(source: Path = SOURCE, seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """The three splits of ``source`` as chat records, redacted before anything is written."""
    examples = [redact_example(example) for example in parse_source(source.read_text(encoding="utf-8"))]
    splits = split_examples(examples, seed=seed)
    return {name: [to_chat(example) for example in splits[name]] for name in SPLITS}


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _tool(record: dict[str, Any]) -> str:
    name = str(json.loads(record["messages"][-1]["content"])["name"])
    if "\nContext: " not in record["messages"][0]["content"]:
        return name
    return "context+no_tool" if name == "no_tool" else "context+tool"


def _table(splits: dict[str, list[dict[str, Any]]]) -> str:
    counts = {name: Counter(_tool(record) for record in splits[name]) for name in SPLITS}
    strata = sorted(set().union(*counts.values()))
    width = max(len(s) for s in [*strata, "stratum"])
    lines = [f"{'stratum':<{width}}  " + "  ".join(f"{n:>10}" for n in (*SPLITS, "total"))]
    for stratum in [*strata, "total"]:
        row = [sum(c.values()) if stratum == "total" else c[stratum] for c in counts.values()]
        lines.append(f"{stratum:<{width}}  " + "  ".join(f"{v:>10}" for v in (*row, sum(row))))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build data/assistant/{train,validation,test}.jsonl.")
    parser.add_argument("--source", type=Path, default=SOURCE, help="authoring file (default: %(default)s)")
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where the splits go")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args(argv)
    splits = build(args.source, args.seed)
    if args.check:
        stale = [name for name in SPLITS if _read(args.out_dir / f"{name}.jsonl") != splits[name]]
        if stale:
            print(f"stale: {', '.join(stale)}; run python data/assistant/build.py", file=sys.stderr)
            return 1
        print("splits are up to date")
        return 0
    for name in SPLITS:
        write_chat(args.out_dir / f"{name}.jsonl", splits[name])
    print(_table(splits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
