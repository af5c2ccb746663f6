"""The labelled PII set in data/pii: format, counts per kind, check digits, and the generator guard."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from nivesh_ml.pii import luhn_valid, verhoeff_valid

PII_DIR = Path(__file__).resolve().parents[2] / "data" / "pii"
FILES = ("generated", "handwritten")
POSITIVE_KINDS = {
    "phone", "email", "upi", "pan", "aadhaar", "vid", "card", "account",
    "ifsc", "gstin", "passport", "voter", "licence", "vehicle",
}  # fmt: skip
NEGATIVE_KINDS = {"amount", "date", "time", "reference", "short_number", "masked", "misc"}
MIN_POSITIVES, MIN_NEGATIVES, MIN_PER_KIND = 300, 300, 8


@cache
def _load(name: str) -> list[dict[str, Any]]:
    lines = (PII_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _all() -> list[dict[str, Any]]:
    return [case for name in FILES for case in _load(name)]


@pytest.mark.parametrize("name", FILES)
def test_every_case_is_well_formed(name: str) -> None:
    for case in _load(name):
        assert set(case) == {"text", "pii", "kind", "value"}, case
        assert case["text"].strip(), case
        assert case["kind"] in (POSITIVE_KINDS if case["pii"] else NEGATIVE_KINDS), case
        if case["pii"]:  # the value is in the text once, so a detector's spans can be checked against it
            assert case["text"].count(case["value"]) == 1, case
        else:
            assert case["value"] is None, case
        assert isinstance(case["pii"], bool), case


def test_counts_and_every_kind_is_covered() -> None:
    cases = _all()
    kinds = Counter(case["kind"] for case in cases if case["pii"])
    assert sum(kinds.values()) >= MIN_POSITIVES
    assert sum(1 for case in cases if not case["pii"]) >= MIN_NEGATIVES
    assert set(kinds) == POSITIVE_KINDS
    assert min(kinds.values()) >= MIN_PER_KIND, kinds
    texts = [case["text"] for case in cases]
    assert len(texts) == len(set(texts)), "a text is in the set twice"


def test_generated_numbers_carry_valid_check_digits() -> None:
    for case in _load("generated"):
        digits = re.sub(r"\D", "", case["value"] or "")
        if case["kind"] in ("aadhaar", "vid"):
            assert verhoeff_valid(digits), case
        if case["kind"] == "card":
            assert luhn_valid(digits), case


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pii_data_generate", PII_DIR / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_committed_file_is_what_the_generator_writes() -> None:
    generate = _generator()
    expected = generate.to_jsonl(generate.generate(generate.DEFAULT_SEED))
    assert (PII_DIR / "generated.jsonl").read_text(encoding="utf-8") == expected
