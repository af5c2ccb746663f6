"""Split the NER data into train, dev and test.

train = every generated sentence + about 40% of the hand-written ones; dev = about 20% of the
hand-written ones; test = the remaining hand-written ones only, so the test set measures the model on
real phrasing rather than on the templates. A text (compared case-insensitively, spaces collapsed)
lives in one split only: a generated sentence that repeats a hand-written one is dropped.

    python data/ner/split.py   # writes data/ner/{train,dev,test}.jsonl and prints the label counts
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 42
TRAIN_SHARE = 0.4
DEV_SHARE = 0.2
LABELS = ("MONEY", "DATE", "CATEGORY", "MERCHANT", "ACCOUNT")
SPLITS = ("train", "dev", "test")

Record = dict[str, object]


def load_jsonl(path: Path) -> list[Record]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, records: list[Record]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def norm(text: str) -> str:
    """The form two texts are compared in: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


def split(generated: list[Record], handwritten: list[Record], seed: int = SEED) -> dict[str, list[Record]]:
    """The three splits; deterministic for a given seed."""
    rng = random.Random(seed)
    hand = list(handwritten)
    rng.shuffle(hand)
    n_train = round(len(hand) * TRAIN_SHARE)
    n_dev = round(len(hand) * DEV_SHARE)
    hand_train, hand_dev, hand_test = hand[:n_train], hand[n_train : n_train + n_dev], hand[n_train + n_dev :]

    taken = {norm(str(r["text"])) for r in hand}
    gen: list[Record] = []
    for record in generated:
        key = norm(str(record["text"]))
        if key not in taken:
            taken.add(key)
            gen.append(record)
    train = gen + hand_train
    rng.shuffle(train)
    return {"train": train, "dev": hand_dev, "test": hand_test}


def label_counts(records: list[Record]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in records:
        entities = record["entities"]
        if isinstance(entities, list):
            counts.update(str(label) for _, _, label in entities)
    return counts


def counts_table(splits: dict[str, list[Record]]) -> str:
    """A Markdown table of sentences and entities per label for each split."""
    lines = ["| split | sentences | " + " | ".join(LABELS) + " |", "|---" * (len(LABELS) + 2) + "|"]
    for name, records in splits.items():
        counts = label_counts(records)
        cells = [name, str(len(records)), *(str(counts[label]) for label in LABELS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    generated = load_jsonl(HERE / "generated.jsonl")
    handwritten = load_jsonl(HERE / "handwritten.jsonl")
    splits = split(generated, handwritten)
    for name in SPLITS:
        write_jsonl(HERE / f"{name}.jsonl", splits[name])
    print(counts_table({"generated": generated, "handwritten": handwritten, **splits}))


if __name__ == "__main__":
    main()
