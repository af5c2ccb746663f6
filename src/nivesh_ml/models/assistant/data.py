"""The assistant's data: the hand-written source, its split, and chat JSONL in and out.

The source (``data/assistant/examples.txt``) is written one example a line::

    # a comment or a section heading
    hdfc me kitna paisa hai? => get_balance | account=hdfc
    set 5k for food every month => set_budget | category=food | amount=5k | period=monthly
    > Context: HDFC savings ₹42,300 (today)
    how much in hdfc? => reply: You have ₹42,300 in your HDFC savings account.

A line ``> ...`` sets the context (a fact the app knows, shown to the model in the system
prompt) for the lines after it, up to the next blank line. ``reply: TEXT`` is short for
``no_tool | reply=TEXT``. Arguments are normalised by :mod:`.tools` and checked against the
tool's schema; a line that fails is an error naming its line number.

Pure Python (no torch, no pandas), so the standalone GPU fine-tune can read the splits.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nivesh_ml.errors import DataError, NiveshError
from nivesh_ml.models.assistant.tools import ToolCall

__all__ = [
    "SPLITS",
    "SYSTEM_PROMPT",
    "ChatRecord",
    "Example",
    "parse_source",
    "prompt_and_target",
    "read_chat",
    "redact_example",
    "split_examples",
    "spread",
    "system_prompt",
    "to_chat",
    "write_chat",
]

SPLITS: tuple[str, ...] = ("train", "validation", "test")
FRACTIONS = {"validation": 0.15, "test": 0.15}
ChatRecord = dict[str, list[dict[str, str]]]

# Short on purpose: every prompt token is paid on each training step and each request on the
# CPU (the tool list alone doubled a step's cost). The tools, their arguments and vocabularies
# are learnt from the examples; their JSON schemas travel with the OpenAI export.
SYSTEM_PROMPT = "You are Nivesh, a personal-finance assistant for India. Reply with one JSON tool call."


def system_prompt(context: str | None = None) -> str:
    """The system message, with the context the app supplies when there is one."""
    return f"{SYSTEM_PROMPT}\nContext: {context}" if context else SYSTEM_PROMPT


@dataclass(frozen=True)
class Example:
    """One user message, its optional context, and the call the assistant should make."""

    message: str
    call: ToolCall
    context: str | None = None
    line: int = 0

    @property
    def stratum(self) -> str:
        """The split's stratum: the tool without a context; with one, its answer or any tool call."""
        if self.context is None:
            return self.call.name
        return "context+no_tool" if self.call.name == "no_tool" else "context+tool"


# --- the authoring format ---------------------------------------------------------------------


def parse_source(text: str) -> list[Example]:
    """Every example of the authoring format; a DataError naming the line of the first bad one."""
    examples: list[Example] = []
    context: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            context = None
        elif line.startswith(">"):
            context = line[1:].strip().removeprefix("Context:").strip() or None
        elif not line.startswith("#"):
            examples.append(_parse_line(line, context, number))
    return examples


def _parse_line(line: str, context: str | None, number: int) -> Example:
    message, arrow, target = line.partition("=>")
    if not arrow or not message.strip():
        raise DataError(f"line {number}: expected 'message => tool | key=value ...'")
    target = target.strip()
    try:
        if target.startswith("reply:"):
            call = ToolCall.create("no_tool", {"reply": target.removeprefix("reply:").strip()})
        else:
            name, *pairs = (part.strip() for part in target.split("|"))
            arguments = dict(_pair(pair) for pair in pairs)
            call = ToolCall.create(name, arguments)
    except (NiveshError, ValueError) as exc:
        raise DataError(f"line {number}: {exc}") from None
    return Example(message.strip(), call, context, number)


def _pair(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals:
        raise ValueError(f"expected key=value, got {text!r}")
    return key.strip(), value.strip()


# --- redaction and split ----------------------------------------------------------------------


def redact_example(example: Example) -> Example:
    """The example with Indian PII masked in the message, the context and every text argument."""
    from nivesh_ml.pii import redact  # the platform's one redactor; imported here, not at import time

    arguments = {k: redact(v) if isinstance(v, str) else v for k, v in example.call.arguments.items()}
    context = redact(example.context) if example.context else None
    call = ToolCall.create(example.call.name, arguments)
    return Example(redact(example.message), call, context, example.line)


def _key(example: Example) -> str:
    text = f"{example.context or ''}|{example.message}".casefold()
    return "".join(ch for ch in text if ch.isalnum() or ch == "|")


def dedupe(examples: Iterable[Example]) -> list[Example]:
    """The first example of each (context, message) after case and punctuation folding."""
    kept: dict[str, Example] = {}
    for example in examples:
        first = kept.setdefault(_key(example), example)
        if first is not example and first.call != example.call:
            raise DataError(f"lines {first.line} and {example.line}: same message, different calls")
    return list(kept.values())


def split_examples(examples: Iterable[Example], seed: int = 42) -> dict[str, list[Example]]:
    """De-duplicate, then split each stratum (tool, context or not) 70/15/15 with a seeded shuffle."""
    unique = sorted(dedupe(examples), key=_key)
    rng = random.Random(seed)  # nosec B311  # seeded split, not security
    out: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for stratum in sorted({example.stratum for example in unique}):
        members = [example for example in unique if example.stratum == stratum]
        rng.shuffle(members)
        sizes = {name: int(len(members) * fraction + 0.5) for name, fraction in FRACTIONS.items()}
        cut = sizes["validation"] + sizes["test"]
        out["validation"] += members[: sizes["validation"]]
        out["test"] += members[sizes["validation"] : cut]
        out["train"] += members[cut:]
    return {name: sorted(rows, key=lambda e: e.line) for name, rows in out.items()}


# --- chat records -----------------------------------------------------------------------------


def to_chat(example: Example) -> ChatRecord:
    """The Hugging Face chat record: system prompt (with context), user message, the call as JSON."""
    return {
        "messages": [
            {"role": "system", "content": system_prompt(example.context)},
            {"role": "user", "content": example.message},
            {"role": "assistant", "content": example.call.to_json()},
        ]
    }


def prompt_and_target(record: ChatRecord) -> tuple[list[dict[str, str]], str]:
    """The messages before the last assistant turn, and that turn's text (what is scored)."""
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages or messages[-1].get("role") != "assistant":
        raise DataError("a chat record needs a 'messages' list ending with an assistant turn")
    return list(messages[:-1]), str(messages[-1]["content"])


def read_chat(path: Path, limit: int | None = None) -> list[ChatRecord]:
    """Chat JSONL (``{"messages": [...]}`` a line); a DataError naming the first bad line."""
    if not path.is_file():
        raise DataError(f"{path} does not exist; build it with `python data/assistant/build.py`")
    records: list[ChatRecord] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            prompt_and_target(record)
        except (json.JSONDecodeError, DataError, AttributeError, KeyError) as exc:
            raise DataError(f"{path}:{number}: not a chat record ({exc})") from None
        records.append(record)
    return records[:limit] if limit is not None else records


def spread(rows: Sequence[ChatRecord], count: int | None) -> list[ChatRecord]:
    """``count`` rows evenly spaced over ``rows`` (the splits are in source order, tools grouped)."""
    if count is None or count >= len(rows):
        return list(rows)
    step = len(rows) / count
    return [rows[int(i * step)] for i in range(count)]


def write_chat(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """Write records as JSONL, UTF-8, one object a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
