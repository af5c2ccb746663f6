"""The assistant data in data/assistant: counts, coverage, PII, leakage, labels, and the build guard."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from nivesh_ml.models.assistant.data import SYSTEM_PROMPT, parse_source
from nivesh_ml.models.assistant.tools import TOOLS, parse_call
from nivesh_ml.pii import redact

ASSISTANT_DIR = Path(__file__).resolve().parents[2] / "data" / "assistant"
SPLITS = ("train", "validation", "test")
MIN_EXAMPLES = 600
MIN_PER_TOOL = 40
MIN_CONTEXT_ANSWERS = 60


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nivesh_assistant_build", ASSISTANT_DIR / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def splits() -> dict[str, list[dict[str, Any]]]:
    return {
        name: [json.loads(line) for line in (ASSISTANT_DIR / f"{name}.jsonl").read_text().splitlines()]
        for name in SPLITS
    }


def _rows(splits: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [row for name in SPLITS for row in splits[name]]


def test_the_committed_splits_are_current(splits: dict[str, list[dict[str, Any]]]) -> None:
    assert _build_module().build() == splits, "run: .venv/bin/python data/assistant/build.py"


def test_enough_examples_for_every_tool(splits: dict[str, list[dict[str, Any]]]) -> None:
    rows = _rows(splits)
    assert len(rows) >= MIN_EXAMPLES
    tools = Counter(json.loads(row["messages"][-1]["content"])["name"] for row in rows)
    assert set(tools) == set(TOOLS)
    assert min(tools.values()) >= MIN_PER_TOOL, tools
    grounded = [row for row in rows if "\nContext: " in row["messages"][0]["content"]]
    assert sum('"no_tool"' in row["messages"][-1]["content"] for row in grounded) >= MIN_CONTEXT_ANSWERS
    assert sum('"no_tool"' not in row["messages"][-1]["content"] for row in grounded) >= 8


def test_every_split_sees_every_tool(splits: dict[str, list[dict[str, Any]]]) -> None:
    for name in SPLITS:
        tools = {json.loads(row["messages"][-1]["content"])["name"] for row in splits[name]}
        assert tools == set(TOOLS), name


def test_records_are_system_user_assistant(splits: dict[str, list[dict[str, Any]]]) -> None:
    for row in _rows(splits):
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        assert row["messages"][0]["content"].startswith(SYSTEM_PROMPT)


def test_answers_are_canonical_valid_calls(splits: dict[str, list[dict[str, Any]]]) -> None:
    for row in _rows(splits):
        answer = row["messages"][-1]["content"]
        call = parse_call(answer)
        assert call is not None
        assert call.to_json() == answer  # normalised, schema-ordered, nothing to fix


def test_no_pii_survives(splits: dict[str, list[dict[str, Any]]]) -> None:
    masked = 0
    for row in _rows(splits):
        for message in row["messages"]:
            assert redact(message["content"]) == message["content"], message["content"]
            masked += bool(re.search(r"\[(PHONE|CARD|UPI|EMAIL|ACCOUNT)\]", message["content"]))
    assert masked >= 5  # the source has PII on purpose: it must arrive masked


def test_no_message_leaks_across_splits(splits: dict[str, list[dict[str, Any]]]) -> None:
    def key(row: dict[str, Any]) -> str:
        text = row["messages"][0]["content"] + "|" + row["messages"][1]["content"]
        return "".join(ch for ch in text.casefold() if ch.isalnum())

    seen = {name: {key(row) for row in splits[name]} for name in SPLITS}
    assert not seen["train"] & seen["test"]
    assert not seen["train"] & seen["validation"]
    assert not seen["validation"] & seen["test"]


def test_fraud_hints_come_from_the_message(splits: dict[str, list[dict[str, Any]]]) -> None:
    for row in _rows(splits):
        call = parse_call(row["messages"][-1]["content"])
        assert call is not None
        if call.name == "report_fraud":
            assert call.arguments["transaction_hint"].lower() in row["messages"][1]["content"].lower()


def test_hinglish_typos_and_indian_amounts_are_present() -> None:
    examples = parse_source((ASSISTANT_DIR / "examples.txt").read_text())
    messages = " ".join(e.message.lower() for e in examples)
    for word in ("kitna", "kharcha", "pichle", "lakh", "hazaar", "₹", "crore", "saal"):
        assert word in messages, word
    for bank in ("hdfc", "sbi", "icici", "kotak", "axis"):
        assert bank in messages, bank
    for merchant in ("swiggy", "zomato", "amazon", "flipkart", "blinkit"):
        assert merchant in messages, merchant
