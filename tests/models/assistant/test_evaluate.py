"""Task metrics of generated calls: JSON validity, tool accuracy, exact match, argument F1."""

from __future__ import annotations

import pytest

from nivesh_ml.models.assistant.evaluate import flat, score_outputs, values_match, word_f1

BUDGET = '{"name": "set_budget", "arguments": {"category": "food", "amount": 5000, "period": "monthly"}}'
REPLY = '{"name": "no_tool", "arguments": {"reply": "You have ₹42,300 in your HDFC savings account."}}'
FRAUD = '{"name": "report_fraud", "arguments": {"transaction_hint": "debit of ₹4,999 from amazon"}}'


def test_perfect_outputs_score_one() -> None:
    metrics = score_outputs([BUDGET, REPLY, FRAUD], [BUDGET, REPLY, FRAUD])
    for name in ("json_valid", "schema_valid", "tool_accuracy", "exact_match", "argument_f1", "reply_f1"):
        assert metrics[name] == pytest.approx(1.0), name
    assert metrics["grounded_numbers"] == 1.0
    assert metrics["per_tool"]["set_budget"] == {"n": 1, "tool_accuracy": 1.0, "exact_match": 1.0}


def test_equal_after_normalisation_is_equal() -> None:
    output = (
        'ok {"name": "set_budget", "arguments": {"category": "Food", "amount": "5k", "period": "per month"}}'
    )
    assert score_outputs([BUDGET], [output])["exact_match"] == 1.0


def test_each_kind_of_mistake() -> None:
    outputs = [
        "not json at all",  # invalid
        '{"name": "get_balance", "arguments": {}}',  # wrong tool
        BUDGET.replace("5000", "6000"),  # one argument wrong
        BUDGET.replace("food", "toys"),  # breaks the schema
    ]
    metrics = score_outputs([BUDGET] * 4, outputs)
    assert metrics["json_valid"] == 0.75
    assert metrics["schema_valid"] == 0.5
    assert metrics["tool_accuracy"] == 0.5
    assert metrics["exact_match"] == 0.0
    # gold pairs 12, predicted pairs 3 (valid calls only), hits: 2 (the budget with the wrong amount)
    assert metrics["argument_f1"] == pytest.approx(2 * (2 / 3) * (2 / 12) / (2 / 3 + 2 / 12))


def test_free_text_matches_by_word_overlap() -> None:
    close = '{"name": "no_tool", "arguments": {"reply": "Your HDFC savings account has ₹42,300."}}'
    far = '{"name": "no_tool", "arguments": {"reply": "Hello! How can I help?"}}'
    metrics = score_outputs([REPLY, REPLY], [close, far])
    assert metrics["tool_accuracy"] == 1.0
    assert metrics["exact_match"] == 0.5
    assert metrics["grounded_numbers"] == 0.5
    assert values_match("transaction_hint", "₹4,999 debit from amazon", "debit of ₹4,999 from amazon")
    assert not values_match("name", "goa", "goa trip")
    assert values_match("annual_rate", 10, 10.0)


def test_word_f1() -> None:
    assert word_f1("a b c", "a b c") == 1.0
    assert word_f1("a b", "c d") == 0.0
    assert word_f1("", "") == 1.0
    assert word_f1("a b c d", "a b") == pytest.approx(2 / 3)


def test_flat_keeps_numbers_only() -> None:
    assert flat({"loss": 1, "per_tool": {}, "outputs": []}, "base_") == {"base_loss": 1.0}
