"""The NER data in data/ner: format, guideline rules, spaCy alignment, splits and the generator."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
import spacy

NER_DIR = Path(__file__).resolve().parents[2] / "data" / "ner"
LABELS = {"MONEY", "DATE", "CATEGORY", "MERCHANT", "ACCOUNT"}
SPLITS = ("train", "dev", "test")
FILES = ("generated", "handwritten", *SPLITS)
DATE_PREPOSITIONS = re.compile(
    r"(on|in|since|during|over|for|from|till|until|by|before|after|at|of)\s", re.IGNORECASE
)
POSSESSIVES = re.compile(r"(my|your|our|his|her|their|mera|mere|meri)\s", re.IGNORECASE)


def _module(name: str) -> ModuleType:
    path = NER_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"ner_data_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@cache
def _load(name: str) -> list[dict]:
    lines = (NER_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return spacy.blank("en")


@pytest.fixture(scope="module")
def generate_mod() -> ModuleType:
    return _module("generate")


@pytest.mark.parametrize("name", FILES)
def test_files_parse_with_valid_spans(name: str) -> None:
    records = _load(name)
    assert records
    for record in records:
        assert set(record) == {"text", "entities"}
        text, entities = record["text"], record["entities"]
        assert isinstance(text, str)
        assert text
        assert text == text.strip()
        previous_end = 0
        for entity in entities:
            assert len(entity) == 3, (text, entity)
            start, end, label = entity
            assert isinstance(start, int)
            assert isinstance(end, int)
            assert label in LABELS, (text, entity)
            assert 0 <= start < end <= len(text), (text, entity)
            assert start >= previous_end, f"overlapping or unsorted spans in {text!r}"
            previous_end = end


@pytest.mark.parametrize("name", FILES)
def test_spans_follow_the_guideline(name: str) -> None:
    for record in _load(name):
        text = record["text"]
        for start, end, label in record["entities"]:
            span = text[start:end]
            assert span == span.strip(), f"whitespace around {span!r} in {text!r}"
            if label == "DATE":
                assert not DATE_PREPOSITIONS.match(span), f"preposition inside DATE {span!r} in {text!r}"
            if label == "ACCOUNT":
                assert not POSSESSIVES.match(span), f"possessive inside ACCOUNT {span!r} in {text!r}"
            if label == "MONEY":
                assert re.search(r"\d", span), f"MONEY without digits {span!r} in {text!r}"


@pytest.mark.parametrize("name", FILES)
def test_spans_align_to_spacy_tokens(name: str, nlp: spacy.language.Language) -> None:
    misaligned = []
    for record in _load(name):
        doc = nlp.make_doc(record["text"])
        for start, end, label in record["entities"]:
            if doc.char_span(start, end) is None:
                misaligned.append((record["text"][start:end], label, record["text"]))
    assert not misaligned, misaligned[:10]


def test_no_text_in_two_splits() -> None:
    owner: dict[str, str] = {}
    for name in SPLITS:
        for record in _load(name):
            key = _norm(record["text"])
            assert owner.setdefault(key, name) == name, f"{record['text']!r} in {owner[key]} and {name}"


def test_test_and_dev_are_hand_written_only() -> None:
    hand = {_norm(r["text"]) for r in _load("handwritten")}
    generated = {_norm(r["text"]) for r in _load("generated")}
    for name in ("test", "dev"):
        texts = {_norm(r["text"]) for r in _load(name)}
        assert texts <= hand, f"{name} holds sentences that are not hand-written"
        assert not texts & generated, f"{name} holds generated sentences"


def test_splits_cover_the_data_in_the_stated_shares() -> None:
    hand = _load("handwritten")
    train, dev, test = (_load(name) for name in SPLITS)
    hand_texts = {_norm(r["text"]) for r in hand}
    train_texts = {_norm(r["text"]) for r in train}
    assert {_norm(r["text"]) for r in _load("generated")} <= train_texts | hand_texts
    hand_in_train = len(train_texts & hand_texts)
    assert hand_in_train + len(dev) + len(test) == len(hand)
    assert abs(hand_in_train / len(hand) - 0.4) < 0.02
    assert abs(len(dev) / len(hand) - 0.2) < 0.02
    assert abs(len(test) / len(hand) - 0.4) < 0.02


def test_committed_splits_match_split_script() -> None:
    split_mod = _module("split")
    splits = split_mod.split(_load("generated"), _load("handwritten"), seed=42)
    for name in SPLITS:
        assert splits[name] == _load(name), f"{name}.jsonl is stale: run data/ner/split.py"


def test_readme_counts_are_current() -> None:
    split_mod = _module("split")
    table = split_mod.counts_table({name: _load(name) for name in FILES})
    assert table in (NER_DIR / "README.md").read_text(encoding="utf-8"), "update the counts in README.md"


def test_handwritten_jsonl_matches_its_source() -> None:
    annotate = _module("annotate")
    source = (NER_DIR / "handwritten.md").read_text(encoding="utf-8")
    assert annotate.parse(source) == _load("handwritten"), "run data/ner/annotate.py"


def test_annotate_computes_offsets() -> None:
    annotate = _module("annotate")
    record = annotate.parse_line("Paid [₹450](MONEY) to [Swiggy](MERCHANT) [yesterday](DATE) [not a label]")
    assert record == {
        "text": "Paid ₹450 to Swiggy yesterday [not a label]",
        "entities": [[5, 9, "MONEY"], [13, 19, "MERCHANT"], [20, 29, "DATE"]],
    }


def test_handwritten_counts() -> None:
    hand = _load("handwritten")
    assert len(hand) >= 350
    counts = Counter(label for r in hand for _, _, label in r["entities"])
    for label in LABELS:
        assert counts[label] >= 80, f"only {counts[label]} {label} in the hand-written set"
    assert sum(1 for r in hand if not r["entities"]) >= 10


def test_generator_vocabulary_and_frames(generate_mod: ModuleType) -> None:
    assert len(set(generate_mod.MERCHANTS)) >= 300
    assert len(set(generate_mod.FRAMES)) >= 60
    assert len(set(generate_mod.BANKS)) >= 30
    assert len(_load("generated")) >= 2900


def test_generator_is_deterministic(generate_mod: ModuleType) -> None:
    first = generate_mod.generate()
    second = generate_mod.generate()
    assert first == second
    assert generate_mod.generate(50, seed=7) == generate_mod.generate(50, seed=7)
    assert generate_mod.generate(50, seed=7) != generate_mod.generate(50, seed=8)
    committed = (NER_DIR / "generated.jsonl").read_text(encoding="utf-8")
    assert generate_mod.to_jsonl(first) == committed, "generated.jsonl is stale: run data/ner/generate.py"


def test_indian_digit_grouping(generate_mod: ModuleType) -> None:
    assert generate_mod.indian_group(999) == "999"
    assert generate_mod.indian_group(2500) == "2,500"
    assert generate_mod.indian_group(100000) == "1,00,000"
    assert generate_mod.indian_group(1250000) == "12,50,000"
    assert generate_mod.indian_group(50000000) == "5,00,00,000"
