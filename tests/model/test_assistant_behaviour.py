"""Behaviour of the assistant: what must hold whatever the weights, and what the tuned model must do.

The first part runs everywhere: the pipeline around the model (normalisation, parsing, the served
object) must be invariant to how a user writes an amount or a period, must never let PII out, and
must always answer with a known tool's JSON or plain text, whatever the model emits.

The second part checks a real fine-tuned model (minimum functionality, invariance, direction).
It needs a trained adapter, so it runs when ``ASSISTANT_ADAPTER_DIR`` (a peft adapter folder, e.g.
``model/artifacts/adapter`` of a registered version) and ``ASSISTANT_BASE_DIR`` (its base
checkpoint) are set, and is skipped otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nivesh_ml.models.assistant.model import AssistantModel
from nivesh_ml.models.assistant.tools import TOOLS, ToolCall, parse_call

# --- the pipeline around the model -----------------------------------------------------------------


@pytest.mark.parametrize(
    "principal", ["5 lakh", "5 lac", "5L", "₹5,00,000", "Rs. 500000", "500000", 500000, "5,00,000/-"]
)
def test_inv_amount_spellings_make_the_same_call(principal: object) -> None:
    call = ToolCall.create(
        "emi_calculator", {"principal": principal, "annual_rate": "10%", "months": "5 years"}
    )
    assert call.arguments == {"principal": 500000, "annual_rate": 10.0, "months": 60}


@pytest.mark.parametrize(
    ("english", "hinglish"),
    [
        ("last month", "pichle mahine"),
        ("this month", "is mahine"),
        ("last week", "pichle hafte"),
        ("today", "aaj"),
    ],
)
def test_inv_hinglish_periods(english: str, hinglish: str) -> None:
    assert ToolCall.create("spending_summary", {"period": english}) == ToolCall.create(
        "spending_summary", {"period": hinglish}
    )


class Echo:
    def __init__(self, answer: str) -> None:
        self.answer = answer

    def chat(self, messages: list[dict[str, str]]) -> str:
        return self.answer


GARBAGE = [
    "",
    "}}}{{{",
    '{"name": "transfer_money", "arguments": {"to": "rahul"}}',
    '{"name": "report_fraud"}',
    "Sure, here is your balance: ₹10,000",
    '{"name": "no_tool", "arguments": {"reply": "' + "very long " * 50 + '"}}',
]


@pytest.mark.parametrize("answer", GARBAGE)
def test_mft_the_reply_is_always_a_known_call_or_plain_text(answer: str) -> None:
    result = (
        AssistantModel().use_engine(Echo(answer)).serve({"messages": [{"role": "user", "content": "hi"}]})
    )  # type: ignore[arg-type]
    assert result["tool"] in TOOLS
    if result["tool"] != "no_tool":
        assert parse_call(result["reply"]) is not None
    else:
        assert not result["reply"].startswith("{")


@pytest.mark.parametrize(
    "pii", ["9876543210", "+91 98765 43210", "4111 1111 1111 1111", "rahul.k@gmail.com", "rahul@okaxis"]
)
def test_dir_pii_never_leaves(pii: str) -> None:
    answers = [
        json.dumps({"name": "no_tool", "arguments": {"reply": f"Noted {pii}"}}),
        json.dumps({"name": "report_fraud", "arguments": {"transaction_hint": f"debit via {pii}"}}),
        json.dumps({"name": "search_transactions", "arguments": {"merchant": pii}}),
    ]
    for answer in answers:
        result = (
            AssistantModel().use_engine(Echo(answer)).serve({"messages": [{"role": "user", "content": pii}]})
        )  # type: ignore[arg-type]
        assert pii not in result["reply"]
        assert pii.replace(" ", "") not in result["reply"].replace(" ", "")


# --- a real fine-tuned model ---------------------------------------------------------------------------

ADAPTER = os.environ.get("ASSISTANT_ADAPTER_DIR")
BASE = os.environ.get("ASSISTANT_BASE_DIR")
real = pytest.mark.skipif(not (ADAPTER and BASE), reason="set ASSISTANT_ADAPTER_DIR and ASSISTANT_BASE_DIR")


@pytest.fixture(scope="module")
def tuned() -> AssistantModel:
    from nivesh_ml.models.assistant.config import AssistantConfig
    from nivesh_ml.models.assistant.local import AssistantEngine

    assert ADAPTER is not None
    assert BASE is not None
    engine = AssistantEngine.load(BASE, str(Path(ADAPTER)), AssistantConfig())
    return AssistantModel().use_engine(engine)


def ask(model: AssistantModel, text: str, context: str | None = None) -> ToolCall:
    return model.chat([{"role": "user", "content": text}], context)


@real
@pytest.mark.parametrize("greeting", ["hi", "hello nivesh", "thanks!", "good morning", "namaste"])
def test_mft_a_greeting_is_never_a_tool_call(tuned: AssistantModel, greeting: str) -> None:
    assert ask(tuned, greeting).name == "no_tool"


@real
@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("what's my credit score", "credit_score"),
        ("cibil kitna hai", "credit_score"),
        ("how much is in my hdfc account", "get_balance"),
        ("how much did i spend on food last month", "spending_summary"),
        ("set a grocery budget of 6000 per month", "set_budget"),
        ("emi for 10 lakh at 9% for 5 years", "emi_calculator"),
        ("show my zomato orders", "search_transactions"),
        ("someone debited 5000 from my account, not me", "report_fraud"),
    ],
)
def test_mft_each_tool(tuned: AssistantModel, text: str, tool: str) -> None:
    assert ask(tuned, text).name == tool


@real
def test_inv_amount_spelling_in_a_request(tuned: AssistantModel) -> None:
    calls = [ask(tuned, f"set a food budget of {amount} per month") for amount in ("5000", "5k", "₹5,000")]
    assert {c.name for c in calls} == {"set_budget"}
    assert {c.arguments.get("amount") for c in calls} == {5000}


@real
def test_dir_the_context_answers_instead_of_a_tool(tuned: AssistantModel) -> None:
    without = ask(tuned, "what's my credit score")
    with_context = ask(tuned, "what's my credit score", "Credit score: 781 (CIBIL, updated 1 Dec).")
    assert without.name == "credit_score"
    assert with_context.name == "no_tool"
    assert "781" in with_context.arguments["reply"]
