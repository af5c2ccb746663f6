"""The tool set: schemas, argument normalisation, the call format and the tolerant parser."""

from __future__ import annotations

import json

import pytest

from nivesh_ml.errors import NiveshError
from nivesh_ml.models.assistant.normalise import (
    normalise_account,
    parse_amount,
    parse_deadline,
    parse_months,
    parse_rate,
)
from nivesh_ml.models.assistant.tools import (
    TOOLS,
    ToolCall,
    ToolCallError,
    extract_json,
    json_schema,
    normalise_arguments,
    parse_call,
    schema_errors,
)


@pytest.mark.parametrize(
    ("raw", "rupees"),
    [
        ("5 lakh", 500_000),
        ("15k", 15_000),
        ("₹2,50,000", 250_000),
        ("Rs. 500", 500),
        ("INR 3000 only", 3000),
        ("7,500/-", 7500),
        ("2.5L", 250_000),
        ("1.2 cr", 12_000_000),
        ("50 hazaar", 50_000),
        ("5 lac", 500_000),
        (1500, 1500),
        (99.6, 100),
    ],
)
def test_amounts_are_whole_rupees(raw: object, rupees: int) -> None:
    assert parse_amount(raw) == rupees


@pytest.mark.parametrize("raw", ["five", "", "0", "-5", True, "12 apples"])
def test_bad_amounts_are_refused(raw: object) -> None:
    with pytest.raises(ToolCallError):
        parse_amount(raw)


def test_tool_call_error_is_a_nivesh_error() -> None:
    assert issubclass(ToolCallError, NiveshError)


@pytest.mark.parametrize(
    ("raw", "months"),
    [(60, 60), ("60", 60), ("5 years", 60), ("5 saal", 60), ("18 mahine", 18), ("1.5 yrs", 18)],
)
def test_tenures_are_months(raw: object, months: int) -> None:
    assert parse_months(raw) == months


def test_rates_are_percent() -> None:
    assert parse_rate("8.5%") == 8.5
    assert parse_rate("10.99 percent p.a.") == 10.99
    assert parse_rate(9) == 9.0


@pytest.mark.parametrize(
    ("raw", "deadline"),
    [
        ("dec 2026", "2026-12"),
        ("December 2027", "2027-12"),
        ("12/2026", "2026-12"),
        ("by march 2028", "2028-03"),
        ("2 years", "P2Y"),
        ("in 6 months", "P6M"),
        ("2026-04", "2026-04"),
        ("p18m", "P18M"),
    ],
)
def test_deadlines(raw: str, deadline: str) -> None:
    assert parse_deadline(raw) == deadline


@pytest.mark.parametrize(
    ("raw", "account"),
    [
        ("My HDFC Savings A/c", "hdfc savings"),
        ("State Bank of India salary account", "sbi salary"),
        ("kotak mahindra bank", "kotak"),
        ("sbi card", "sbi credit card"),
        ("Bank of Baroda", "bob"),
        ("paytm wallet", "paytm wallet"),
        ("idfc first savings", "idfc first savings"),
        ("hdfc credit card", "hdfc credit card"),
    ],
)
def test_accounts(raw: str, account: str) -> None:
    assert normalise_account(raw) == account


def test_arguments_are_normalised_in_schema_order() -> None:
    arguments = normalise_arguments(
        "set_budget", {"period": "per month", "amount": "5k", "category": "Petrol"}
    )
    assert list(arguments.items()) == [("category", "fuel"), ("amount", 5000), ("period", "monthly")]


def test_periods_and_merchants() -> None:
    arguments = normalise_arguments(
        "search_transactions", {"merchant": " Swiggy ", "period": "pichle mahine"}
    )
    assert arguments == {"merchant": "swiggy", "period": "last_month"}
    assert normalise_arguments("search_transactions", {"merchant": "[upi]"}) == {"merchant": "[UPI]"}


def test_optional_nulls_are_dropped_and_required_ones_enforced() -> None:
    assert normalise_arguments("get_balance", {"account": None}) == {}
    with pytest.raises(ToolCallError, match="needs amount"):
        normalise_arguments("create_goal", {"name": "goa trip"})
    with pytest.raises(ToolCallError, match="takes no argument"):
        normalise_arguments("credit_score", {"score": 1})
    with pytest.raises(ToolCallError, match="unknown tool"):
        normalise_arguments("book_flight", {})
    with pytest.raises(ToolCallError, match="unknown period"):
        normalise_arguments("spending_summary", {"period": "last decade"})


def test_every_tool_has_a_closed_json_schema() -> None:
    assert set(TOOLS) == {
        "get_balance", "spending_summary", "set_budget", "create_goal", "emi_calculator",
        "search_transactions", "credit_score", "report_fraud", "no_tool",
    }  # fmt: skip
    for name in TOOLS:
        schema = json_schema(name)
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) <= set(schema["properties"])
    assert json_schema("spending_summary")["required"] == ["period"]


def test_schema_errors_name_the_problem() -> None:
    schema = json_schema("set_budget")
    assert schema_errors({"category": "food", "amount": 5000, "period": "monthly"}, schema) == []
    errors = schema_errors({"category": "toys", "amount": "5000", "extra": 1}, schema)
    assert any("not in enum" in e for e in errors)
    assert any("expected integer" in e for e in errors)
    assert any("missing period" in e for e in errors)
    assert any("unexpected extra" in e for e in errors)


def test_canonical_json_round_trips() -> None:
    call = ToolCall.create(
        "emi_calculator", {"principal": "5 lakh", "annual_rate": "10%", "months": "5 years"}
    )
    assert json.loads(call.to_json()) == {
        "name": "emi_calculator",
        "arguments": {"principal": 500000, "annual_rate": 10.0, "months": 60},
    }
    assert parse_call(call.to_json()) == call
    assert call.reply == call.to_json()
    assert ToolCall.create("no_tool", {"reply": "Hi!"}).reply == "Hi!"


@pytest.mark.parametrize(
    "text",
    [
        'Sure! {"name": "get_balance", "arguments": {"account": "HDFC"}} hope that helps',
        '```json\n{"name": "get_balance", "arguments": {"account": "hdfc"}}\n```',
        '{"name": "get_balance", "arguments": {"account": "hdfc"}',
        '{"tool": "get_balance", "args": {"account": "hdfc"}}',
        '{"function": {"name": "get_balance", "arguments": "{\\"account\\": \\"hdfc\\"}"}}',
    ],
)
def test_the_parser_is_tolerant(text: str) -> None:
    assert parse_call(text) == ToolCall("get_balance", {"account": "hdfc"})


def test_the_parser_refuses_what_is_not_a_call() -> None:
    assert parse_call("I cannot help with that") is None
    assert parse_call('{"answer": 42}') is None
    assert extract_json("[1, 2]") is None
    with pytest.raises(ToolCallError):
        parse_call('{"name": "set_budget", "arguments": {"category": "food"}}')
