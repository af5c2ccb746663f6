"""Behaviour of the intent model: minimum functionality, invariance and robustness.

Run on the registered champion of a session model trained through the real pipeline (two epochs
on the full training split; the fixture is shared with tests/models/intent through its folder).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from nivesh_ml.config import QualityBar, load_settings
from nivesh_ml.models.common import TrainOptions
from nivesh_ml.models.intent.config import IntentConfig
from nivesh_ml.models.intent.train import train
from nivesh_ml.tracking.loading import load_model

Classify = Callable[[str], dict[str, Any]]
SESSION_CONFIG = {"epochs": 2, "max_len": 32}  # same as tests/models/intent/conftest.py


@pytest.fixture(scope="session")
def classify(tmp_path_factory: pytest.TempPathFactory) -> Classify:
    """The champion's fast path, from the session's intent model (trained here if not yet)."""
    folder = tmp_path_factory.getbasetemp() / "intent-session"
    settings = load_settings(
        _env_file=None,
        home=folder / "var",
        quality_bars={"intent": QualityBar(metric="accuracy", threshold=0.5)},
    )
    marker = folder / "report.json"
    if not marker.is_file():
        report = train(settings, TrainOptions(), config=IntentConfig(**SESSION_CONFIG))
        saved = {"bundle": report.extra["bundle"], "metrics": report.metrics, "version": report.version}
        marker.write_text(json.dumps(saved))
    model = load_model(settings, "intent", "champion").pyfunc.unwrap_python_model()
    return model.classify  # type: ignore[no-any-return]


def intent_of(classify: Classify, text: str) -> str:
    return str(classify(text)["intent"])


GREETINGS = [
    "Hi",
    "Hello!",
    "hey there",
    "Good morning",
    "Namaste",
    "Thanks a lot",
    "thank you so much, that helped",
    "Bye, see you later",
    "Who are you?",
    "What can you do?",
]


@pytest.mark.parametrize("text", GREETINGS)
def test_a_greeting_is_never_a_fraud_report(classify: Classify, text: str) -> None:
    assert intent_of(classify, text) != "fraud_report"


def test_greetings_are_mostly_recognised_as_small_talk(classify: Classify) -> None:
    answers = [intent_of(classify, text) for text in GREETINGS]
    assert answers.count("greeting_smalltalk") >= 0.8 * len(GREETINGS), answers


BANKS = ["HDFC", "SBI", "ICICI", "Axis", "Kotak", "Bank of Baroda"]
BANK_TEMPLATES = {
    "What's the balance in my {bank} savings account?": "account_balance",
    "Check my {bank} account balance": "account_balance",
    "Someone used my {bank} debit card without my permission": "fraud_report",
    "When is my {bank} home loan EMI due?": "loan_emi",
}


@pytest.mark.parametrize(("template", "expected"), BANK_TEMPLATES.items())
def test_the_bank_name_does_not_change_the_intent(classify: Classify, template: str, expected: str) -> None:
    answers = {bank: intent_of(classify, template.format(bank=bank)) for bank in BANKS}
    assert set(answers.values()) == {expected}, answers


AMOUNTS = ["₹15,000", "Rs 20000", "25k", "INR 40,000", "1 lakh"]
AMOUNT_TEMPLATES = {
    "Can I afford a new phone for {amount}?": "affordability_check",
    "Set a monthly food budget of {amount}": "budget_management",
    "I want to save {amount} for a trip to Goa by December": "savings_goal",
    "Show me the {amount} payment I made last week": "transaction_search",
}


@pytest.mark.parametrize(("template", "expected"), AMOUNT_TEMPLATES.items())
def test_the_amount_does_not_change_the_intent(classify: Classify, template: str, expected: str) -> None:
    answers = {amount: intent_of(classify, template.format(amount=amount)) for amount in AMOUNTS}
    assert set(answers.values()) == {expected}, answers


UNRELATED = [
    "What's the weather in Mumbai tomorrow?",
    "Give me a recipe for paneer butter masala",
    "Who won the IPL final this year?",
    "How do I fix a flat bicycle tyre?",
    "Translate 'good night' into Tamil",
    "Write a poem about the monsoon",
    "What is the capital of Australia?",
    "Recommend a good Netflix series to binge",
]


@pytest.mark.parametrize("text", UNRELATED)
def test_an_obviously_unrelated_question_is_out_of_scope(classify: Classify, text: str) -> None:
    assert intent_of(classify, text) == "out_of_scope"


TYPOS = {
    "What is my account balance?": "Wht is my acount balance?",
    "What is my credit score?": "what is my credti score",
    "How much did I spend on groceries last month?": "how much did i spnd on grocereis last month",
    "Cancel my Netflix subscription": "cancle my netflix subscripton",
    "Which mutual fund should I invest in?": "which mutual fund shoud i invset in",
    "How can I save tax under 80C?": "how can i save tax under 80c",
}


@pytest.mark.parametrize(("clean", "typo"), TYPOS.items())
def test_typos_keep_the_intent(classify: Classify, clean: str, typo: str) -> None:
    assert intent_of(classify, typo) == intent_of(classify, clean)
