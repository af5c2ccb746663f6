"""The hand-written intent data in data/intents: format, taxonomy, counts, and the split guard."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from nivesh_ml.models.intent.config import LABELS as PACKAGE_LABELS
from nivesh_ml.models.intent.config import normalise

INTENTS_DIR = Path(__file__).resolve().parents[2] / "data" / "intents"
SPLITS = ("train", "validation", "test")
FILES = ("intents", *SPLITS)
INTENTS = (
    "account_balance",
    "spending_analysis",
    "budget_management",
    "affordability_check",
    "savings_goal",
    "investment_advice",
    "loan_emi",
    "credit_score",
    "bill_reminder",
    "transaction_search",
    "tax_planning",
    "fraud_report",
    "subscription_review",
    "greeting_smalltalk",
)
OUT_OF_SCOPE = "out_of_scope"
LABELS = frozenset((*INTENTS, OUT_OF_SCOPE))
MIN_PER_INTENT = 100
MIN_OUT_OF_SCOPE = 260
MAX_CHARS = 400


def _load_split_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nivesh_intent_split", INTENTS_DIR / "split.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


split_py = _load_split_module()


def _read(name: str) -> list[dict[str, str]]:
    lines = (INTENTS_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict[str, str]]]:
    return {name: _read(name) for name in FILES}


@pytest.mark.parametrize("name", FILES)
def test_every_line_is_an_object_with_exactly_text_and_intent(name: str) -> None:
    lines = (INTENTS_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines
    for number, line in enumerate(lines, start=1):
        assert line.strip(), f"{name}.jsonl:{number} is blank"
        row = json.loads(line)
        assert isinstance(row, dict), f"{name}.jsonl:{number}"
        assert set(row) == {"text", "intent"}, f"{name}.jsonl:{number}: keys {sorted(row)}"
        assert isinstance(row["text"], str)
        assert isinstance(row["intent"], str)


@pytest.mark.parametrize("name", FILES)
def test_texts_are_non_empty_trimmed_and_short(name: str, data: dict[str, list[dict[str, str]]]) -> None:
    for row in data[name]:
        text = row["text"]
        assert text.strip(), row
        assert text == text.strip(), row
        assert len(text) < MAX_CHARS, row
        assert normalise(text), row


def test_labels_are_exactly_the_taxonomy(data: dict[str, list[dict[str, str]]]) -> None:
    assert len(LABELS) == 15
    assert set(PACKAGE_LABELS) == LABELS  # what the model trains on and split.py splits by
    assert split_py.LABELS == PACKAGE_LABELS
    for name in FILES:
        assert {row["intent"] for row in data[name]} == LABELS, name


def test_minimum_counts_per_label(data: dict[str, list[dict[str, str]]]) -> None:
    total = Counter(row["intent"] for name in SPLITS for row in data[name])
    for intent in INTENTS:
        assert total[intent] >= MIN_PER_INTENT, (intent, total[intent])
    assert total[OUT_OF_SCOPE] >= MIN_OUT_OF_SCOPE, total[OUT_OF_SCOPE]


@pytest.mark.parametrize("name", SPLITS)
def test_each_label_is_in_every_split(name: str, data: dict[str, list[dict[str, str]]]) -> None:
    counts = Counter(row["intent"] for row in data[name])
    assert set(counts) == LABELS
    assert min(counts.values()) >= 10, counts


def test_split_proportions_are_70_15_15_per_label(data: dict[str, list[dict[str, str]]]) -> None:
    counts = {name: Counter(row["intent"] for row in data[name]) for name in SPLITS}
    for label in LABELS:
        n = sum(counts[name][label] for name in SPLITS)
        for name, share in (("train", 0.70), ("validation", 0.15), ("test", 0.15)):
            assert abs(counts[name][label] - share * n) <= 1.5, (label, name, counts[name][label], n)


@pytest.mark.parametrize("name", FILES)
def test_no_duplicates_within_a_file(name: str, data: dict[str, list[dict[str, str]]]) -> None:
    keys = Counter(normalise(row["text"]) for row in data[name])
    duplicated = [key for key, count in keys.items() if count > 1]
    assert not duplicated, duplicated[:10]


def test_no_text_in_two_splits(data: dict[str, list[dict[str, str]]]) -> None:
    owner: dict[str, str] = {}
    for name in SPLITS:
        for row in data[name]:
            key = normalise(row["text"])
            assert key not in owner, f"{row['text']!r} in both {owner[key]} and {name}"
            owner[key] = name


def test_splits_partition_the_source(data: dict[str, list[dict[str, str]]]) -> None:
    source = {(normalise(row["text"]), row["intent"]) for row in data["intents"]}
    splits = {(normalise(row["text"]), row["intent"]) for name in SPLITS for row in data[name]}
    assert splits == source


def test_committed_splits_are_what_split_py_produces(data: dict[str, list[dict[str, str]]]) -> None:
    produced = split_py.split_examples(data["intents"], seed=42)
    assert split_py.SEED == 42
    assert tuple(produced) == SPLITS
    for name in SPLITS:
        assert produced[name] == data[name], f"{name}.jsonl is stale: run python data/intents/split.py"


def test_split_does_not_depend_on_input_order(data: dict[str, list[dict[str, str]]]) -> None:
    shuffled = list(data["intents"])
    random.Random(0).shuffle(shuffled)
    assert split_py.split_examples(shuffled) == split_py.split_examples(data["intents"])


def test_near_duplicates_collapse_before_splitting() -> None:
    rows = [{"text": f"what is my balance number {i}", "intent": "account_balance"} for i in range(20)]
    rows += [
        {"text": "What's my balance?", "intent": "account_balance"},
        {"text": "whats my   balance", "intent": "account_balance"},
        {"text": "WHAT'S MY BALANCE!!", "intent": "account_balance"},
    ]
    splits = split_py.split_examples(rows)
    texts = [row["text"] for name in SPLITS for row in splits[name]]
    assert len(texts) == 21
    assert sum(normalise(text) == "whatsmybalance" for text in texts) == 1
    assert "What's my balance?" in texts


def test_same_text_with_two_labels_is_an_error() -> None:
    rows = [
        {"text": "Cancel my Netflix", "intent": "subscription_review"},
        {"text": "cancel my netflix!", "intent": "fraud_report"},
    ]
    with pytest.raises(ValueError, match="conflicting labels"):
        split_py.split_examples(rows)


def test_unknown_label_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown labels"):
        split_py.split_examples([{"text": "book a cab", "intent": "travel_booking"}])


def test_the_duplicate_key_ignores_case_punctuation_and_spaces() -> None:
    assert normalise("What's my  BALANCE?!") == normalise("whats my balance") == "whatsmybalance"
    assert normalise("₹500 on Zomato") == "500onzomato"
    assert normalise("Café") != normalise("Cafe")  # accents are letters, kept
    assert normalise("?!  ...") == ""
