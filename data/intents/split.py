"""Deterministic stratified split of the Nivesh intent data into train / validation / test.

Reads ``intents.jsonl`` (one ``{"text": ..., "intent": ...}`` object per line) and writes
``train.jsonl``, ``validation.jsonl`` and ``test.jsonl`` next to it: 70 / 15 / 15 per label,
seed 42. Texts that are equal after normalisation (``nivesh_ml.models.intent.config.normalise``:
case-folded, everything but letters and digits removed) are de-duplicated before splitting, so
a text and its near-duplicate can never end up in two different splits. The same text under two
different labels is an error.

Run from anywhere, with the project's environment (it imports ``nivesh_ml``)::

    python data/intents/split.py            # rewrite the three files in data/intents/
    python data/intents/split.py --check    # exit 1 if the committed files are stale
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable
from pathlib import Path

# The taxonomy and the duplicate key live in the package, so training and this split agree.
from nivesh_ml.models.intent.config import LABELS, normalise

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "intents.jsonl"
SEED = 42
SPLITS: tuple[str, ...] = ("train", "validation", "test")
FRACTIONS: dict[str, float] = {"validation": 0.15, "test": 0.15}

Example = dict[str, str]


def read_jsonl(path: Path) -> list[Example]:
    """Every non-blank line of ``path`` as a dict; a line that is not a JSON object is an error."""
    rows: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object")
            rows.append(row)
    return rows


def write_jsonl(path: Path, rows: Iterable[Example]) -> None:
    """Write ``rows`` one JSON object per line, UTF-8, keys in the order text, intent."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            record = {"text": row["text"], "intent": row["intent"]}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def dedupe(rows: Iterable[Example]) -> list[Example]:
    """Keep the first row of each normalised text; raise if one text carries two labels."""
    kept: dict[str, Example] = {}
    for row in rows:
        key = normalise(row["text"])
        if not key:
            raise ValueError(f"text with no letters or digits: {row['text']!r}")
        first = kept.get(key)
        if first is None:
            kept[key] = {"text": row["text"], "intent": row["intent"]}
        elif first["intent"] != row["intent"]:
            raise ValueError(f"conflicting labels for {row['text']!r}: {first['intent']} and {row['intent']}")
    return list(kept.values())


def split_sizes(n: int) -> dict[str, int]:
    """Rows per split for a label with ``n`` rows: 15 % validation, 15 % test (rounded half up)."""
    sizes = {name: int(n * fraction + 0.5) for name, fraction in FRACTIONS.items()}
    sizes["train"] = n - sum(sizes.values())
    return sizes


def split_examples(rows: Iterable[Example], seed: int = SEED) -> dict[str, list[Example]]:
    """De-duplicate, then split each label 70 / 15 / 15 with a seeded shuffle.

    The result does not depend on the order of ``rows`` beyond which duplicate is kept: each
    label's rows are sorted by normalised text before the shuffle, and every split keeps that
    label-by-label sorted order.
    """
    unique = dedupe(rows)
    unknown = sorted({row["intent"] for row in unique} - set(LABELS))
    if unknown:
        raise ValueError(f"unknown labels: {unknown}")
    rng = random.Random(seed)
    out: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for label in LABELS:
        members = sorted(
            (row for row in unique if row["intent"] == label), key=lambda r: normalise(r["text"])
        )
        order = list(range(len(members)))
        rng.shuffle(order)
        sizes = split_sizes(len(members))
        bounds = {
            "validation": order[: sizes["validation"]],
            "test": order[sizes["validation"] : sizes["validation"] + sizes["test"]],
            "train": order[sizes["validation"] + sizes["test"] :],
        }
        for name in SPLITS:
            out[name].extend(members[i] for i in sorted(bounds[name]))
    return out


def build(source: Path = SOURCE, seed: int = SEED) -> dict[str, list[Example]]:
    """The splits of the examples in ``source``."""
    return split_examples(read_jsonl(source), seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stratified 70/15/15 split of data/intents/intents.jsonl.")
    parser.add_argument("--source", type=Path, default=SOURCE, help="input JSONL (default: %(default)s)")
    parser.add_argument(
        "--out-dir", type=Path, default=HERE, help="where the splits go (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args(argv)

    splits = build(args.source, seed=args.seed)
    if args.check:
        stale = [name for name in SPLITS if read_jsonl(args.out_dir / f"{name}.jsonl") != splits[name]]
        if stale:
            print(f"stale: {', '.join(stale)}; run python data/intents/split.py", file=sys.stderr)
            return 1
        print("splits are up to date")
        return 0

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        write_jsonl(args.out_dir / f"{name}.jsonl", splits[name])
    width = max(len(label) for label in LABELS)
    print(f"{'label':<{width}}  " + "  ".join(f"{name:>10}" for name in (*SPLITS, "total")))
    for label in LABELS:
        counts = [sum(row["intent"] == label for row in splits[name]) for name in SPLITS]
        print(f"{label:<{width}}  " + "  ".join(f"{c:>10}" for c in (*counts, sum(counts))))
    totals = [len(splits[name]) for name in SPLITS]
    print(f"{'total':<{width}}  " + "  ".join(f"{c:>10}" for c in (*totals, sum(totals))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
