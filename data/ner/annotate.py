"""Turn the hand-written authoring file into JSONL with character offsets.

The authoring format (``data/ner/handwritten.md``) is one sentence per line starting with ``- ``, each
entity written as ``[span text](LABEL)``:

    - Paid [₹450](MONEY) to [Swiggy](MERCHANT) [yesterday](DATE)

becomes

    {"text": "Paid ₹450 to Swiggy yesterday", "entities": [[5, 9, "MONEY"], [13, 19, "MERCHANT"], ...]}

Other lines (headings, notes, blank lines) are ignored. Brackets that are not followed by ``(LABEL)``
stay literal text. Offsets are computed here, never by hand.

    python data/ner/annotate.py [--src data/ner/handwritten.md] [--out data/ner/handwritten.jsonl]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SRC = HERE / "handwritten.md"
DEFAULT_OUT = HERE / "handwritten.jsonl"
LABELS = ("MONEY", "DATE", "CATEGORY", "MERCHANT", "ACCOUNT")
ENTITY_RE = re.compile(r"\[([^\[\]]+)\]\((" + "|".join(LABELS) + r")\)")

Record = dict[str, object]


def parse_line(line: str) -> Record:
    """One authored sentence (without the leading ``- ``) -> ``{"text", "entities"}``."""
    text = ""
    entities: list[list[object]] = []
    pos = 0
    for m in ENTITY_RE.finditer(line):
        text += line[pos : m.start()]
        span = m.group(1)
        if span != span.strip():
            raise ValueError(f"span with surrounding whitespace {span!r} in: {line}")
        entities.append([len(text), len(text) + len(span), m.group(2)])
        text += span
        pos = m.end()
    text += line[pos:]
    if re.search(r"\]\([A-Z]+\)", text):
        raise ValueError(f"unknown label in: {line}")
    return {"text": text, "entities": entities}


def parse(source: str) -> list[Record]:
    """Every ``- `` line of the authoring file, in order; duplicate sentences are an error."""
    records: list[Record] = []
    seen: set[str] = set()
    for number, raw in enumerate(source.splitlines(), start=1):
        if not raw.startswith("- "):
            continue
        record = parse_line(raw[2:].strip())
        text = str(record["text"])
        if text in seen:
            raise ValueError(f"line {number}: duplicate sentence {text!r}")
        seen.add(text)
        records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description="Convert the hand-written authoring file to JSONL.")
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    records = parse(args.src.read_text(encoding="utf-8"))
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    print(f"wrote {len(records)} sentences to {args.out}")


if __name__ == "__main__":
    main()
