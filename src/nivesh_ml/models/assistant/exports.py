"""The training data in three fine-tuning formats, from the one chat split.

- **Hugging Face chat** (local LoRA): ``{"messages": [{"role", "content"}, ...]}``, as stored.
- **Vertex AI Gemini supervised tuning**: ``{"systemInstruction": {"role": "system", "parts":
  [{"text"}]}, "contents": [{"role": "user", "parts": [{"text"}]}, {"role": "model", "parts":
  [{"text"}]}]}``; the model turn is the call's JSON text, as the local model emits it.
- **OpenAI chat fine-tuning with tools**: ``{"messages": [...], "tools": [...],
  "parallel_tool_calls": false}``; a tool call becomes the assistant's ``tool_calls`` (arguments a
  JSON string), ``no_tool`` becomes plain assistant ``content``, and ``tools`` carries every real
  tool's JSON schema.

Each is checked against its documented schema in ``tests/models/assistant/test_exports.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nivesh_ml.models.assistant.data import ChatRecord, prompt_and_target, write_chat
from nivesh_ml.models.assistant.tools import TOOLS, json_schema, parse_call

__all__ = ["FORMATS", "openai_tools", "to_hf", "to_openai", "to_vertex", "write_exports"]


def to_hf(record: ChatRecord) -> dict[str, Any]:
    """The Hugging Face chat record (a copy with only role and content)."""
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in record["messages"]]}


def to_vertex(record: ChatRecord) -> dict[str, Any]:
    """The Gemini supervised-tuning example: system instruction, then user and model turns."""
    messages, target = prompt_and_target(record)
    system = [m["content"] for m in messages if m["role"] == "system"]
    contents = [
        {"role": "model" if m["role"] == "assistant" else "user", "parts": [{"text": m["content"]}]}
        for m in messages
        if m["role"] != "system"
    ]
    contents.append({"role": "model", "parts": [{"text": target}]})
    example: dict[str, Any] = {"contents": contents}
    if system:
        example["systemInstruction"] = {"role": "system", "parts": [{"text": "\n".join(system)}]}
    return example


def openai_tools() -> list[dict[str, Any]]:
    """The tools as OpenAI function definitions (``no_tool`` is a plain reply, not a function)."""
    return [
        {
            "type": "function",
            "function": {"name": name, "description": spec.description, "parameters": json_schema(name)},
        }
        for name, spec in TOOLS.items()
        if name != "no_tool"
    ]


def to_openai(record: ChatRecord, index: int = 0) -> dict[str, Any]:
    """The OpenAI chat fine-tuning example with a real tool call (or a plain reply)."""
    messages, target = prompt_and_target(record)
    call = parse_call(target)
    if call is None:
        raise ValueError(f"record {index}: the answer is not a tool call")
    answer: dict[str, Any]
    if call.name == "no_tool":
        answer = {"role": "assistant", "content": str(call.arguments["reply"])}
    else:
        function = {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}
        answer = {
            "role": "assistant",
            "tool_calls": [{"id": f"call_{index}", "type": "function", "function": function}],
        }
    return {
        "messages": [*(dict(m) for m in messages), answer],
        "tools": openai_tools(),
        "parallel_tool_calls": False,
    }


FORMATS = ("hf", "vertex", "openai")


def convert(records: Sequence[ChatRecord], fmt: str) -> list[dict[str, Any]]:
    """Every record in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "hf":
        return [to_hf(r) for r in records]
    if fmt == "vertex":
        return [to_vertex(r) for r in records]
    if fmt == "openai":
        return [to_openai(r, i) for i, r in enumerate(records)]
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write_exports(
    splits: Mapping[str, Sequence[ChatRecord]],
    folder: Path,
    splits_to_write: Sequence[str] = ("train", "validation"),
) -> dict[str, Path]:
    """Write ``<format>_<split>.jsonl`` for every format; returns ``{"<format>_<split>": path}``."""
    paths: dict[str, Path] = {}
    for fmt in FORMATS:
        for split in splits_to_write:
            path = folder / f"{fmt}_{split}.jsonl"
            write_chat(path, convert(splits[split], fmt))
            paths[f"{fmt}_{split}"] = path
    return paths
