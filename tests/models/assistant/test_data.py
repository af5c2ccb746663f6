"""The authoring format, redaction, the split and chat records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nivesh_ml.errors import DataError
from nivesh_ml.models.assistant.data import (
    SYSTEM_PROMPT,
    Example,
    parse_source,
    prompt_and_target,
    read_chat,
    redact_example,
    split_examples,
    system_prompt,
    to_chat,
)
from nivesh_ml.models.assistant.tools import ToolCall

SOURCE = """
# a heading
hdfc me kitna hai => get_balance | account=HDFC savings a/c
set 5k for food => set_budget | category=food | amount=5k | period=monthly

> Context: HDFC savings ₹42,300
how much in hdfc? => reply: You have ₹42,300 in your HDFC savings account.
credit score? => credit_score

hi => reply: Hello!
"""


def test_the_authoring_format() -> None:
    examples = parse_source(SOURCE)
    assert [e.call.name for e in examples] == [
        "get_balance",
        "set_budget",
        "no_tool",
        "credit_score",
        "no_tool",
    ]
    assert examples[0].call.arguments == {"account": "hdfc savings"}
    assert examples[1].call.arguments == {"category": "food", "amount": 5000, "period": "monthly"}
    assert [e.context for e in examples] == [None, None, "HDFC savings ₹42,300", "HDFC savings ₹42,300", None]
    assert examples[2].call.arguments["reply"].startswith("You have ₹42,300")
    assert examples[1].line == 4


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("no arrow here", "line 1: expected"),
        ("x => set_budget | category=food", "line 1: set_budget needs amount"),
        ("x => set_budget | category food", "line 1: expected key=value"),
        ("x => fly_me | to=goa", "line 1: unknown tool"),
    ],
)
def test_bad_lines_name_their_number(line: str, error: str) -> None:
    with pytest.raises(DataError, match=error):
        parse_source(line)


def test_redaction_masks_message_context_and_arguments() -> None:
    example = Example(
        "someone called from 9988776655 and used card 4111 1111 1111 1111",
        ToolCall.create("report_fraud", {"transaction_hint": "card 4111 1111 1111 1111"}),
        context="registered phone 9876543210",
    )
    redacted = redact_example(example)
    assert redacted.message == "someone called from [PHONE] and used card [CARD]"
    assert redacted.call.arguments == {"transaction_hint": "card [CARD]"}
    assert redacted.context == "registered phone [PHONE]"
    assert "₹2,50,000" in redact_example(Example("budget ₹2,50,000", ToolCall("credit_score"))).message


def test_the_split_is_stratified_seeded_and_deduplicated() -> None:
    lines = [f"balance {i} please => get_balance" for i in range(20)]
    lines += [f"hi number {i} => reply: Hello {i}!" for i in range(20)]
    lines += ["balance 0 please!! => get_balance"]  # a near-duplicate of the first line
    examples = parse_source("\n".join(lines))
    splits = split_examples(examples, seed=42)
    assert {name: len(rows) for name, rows in splits.items()} == {"train": 28, "validation": 6, "test": 6}
    assert sum(e.call.name == "no_tool" for e in splits["test"]) == 3
    assert split_examples(list(reversed(examples)), seed=42) != split_examples(examples, seed=7)
    assert [e.message for e in split_examples(examples, seed=42)["test"]] == [
        e.message for e in splits["test"]
    ]


def test_a_message_with_two_calls_is_an_error() -> None:
    with pytest.raises(DataError, match="same message, different calls"):
        split_examples(parse_source("balance => get_balance\nBalance! => credit_score"))


def test_chat_records(tmp_path: Path) -> None:
    example = parse_source("> Context: SBI ₹3,870\nsbi? => reply: ₹3,870 in SBI.")[0]
    record = to_chat(example)
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant"]
    assert record["messages"][0]["content"] == system_prompt("SBI ₹3,870")
    assert record["messages"][0]["content"].startswith(SYSTEM_PROMPT)
    messages, target = prompt_and_target(record)
    assert len(messages) == 2
    assert json.loads(target) == {"name": "no_tool", "arguments": {"reply": "₹3,870 in SBI."}}
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps(record) + "\n\n" + json.dumps(record) + "\n")
    assert read_chat(path) == [record, record]
    assert read_chat(path, limit=1) == [record]


def test_bad_chat_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_chat(tmp_path / "missing.jsonl")
    path = tmp_path / "bad.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    with pytest.raises(DataError, match=r"bad\.jsonl:1"):
        read_chat(path)
