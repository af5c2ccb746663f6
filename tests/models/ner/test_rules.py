"""The EntityRuler patterns: every MONEY format of the guideline, numeric dates, and restraint."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from nivesh_ml.models.ner.rules import (
    RULER,
    add_ruler,
    guideline_spans,
    load_patterns,
    patterns,
    placement_variants,
)


@pytest.fixture(scope="module")
def ruler() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler", name=RULER)  # the rules alone, no NER
    load_patterns(nlp)
    return nlp


def _ents(nlp: Language, text: str) -> list[tuple[str, str]]:
    return [(ent.text, ent.label_) for ent in nlp(text).ents]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("Paid ₹2,500 at Swiggy", "₹2,500"),
        ("Paid Rs. 500 for lunch", "Rs. 500"),
        ("Paid Rs.500 for lunch", "Rs.500"),
        ("INR 1,200 debited", "INR 1,200"),
        ("got a 5 lakh loan", "5 lakh"),
        ("a bonus of ₹1.2 lakh", "₹1.2 lakh"),
        ("flat costs 2 crore", "2 crore"),
        ("spent 15k on travel", "15k"),
        ("spent 8000 rupees on travel", "8000 rupees"),
        ("saved 1,00,000 this year", "1,00,000"),
        ("transferred ₹1,00,000 today", "₹1,00,000"),
        ("Rs.1,249.00 spent on your card", "Rs.1,249.00"),
        ("Credited with ₹ 35,000 on 3 February", "₹ 35,000"),
        ("blinkit 340rs", "340rs"),
        ("Paid Rs 5,000/- to the plumber", "Rs 5,000/-"),
        ("paid 999/- for the charger", "999/-"),
        ("limit raised to ₹2L", "₹2L"),
        ("spent 1.5k on food", "1.5k"),
        ("500 bucks for the cab", "500 bucks"),
        ("Rs 12 lakhs in the FD", "Rs 12 lakhs"),
        ("a 2.5cr flat", "2.5cr"),
        ("inr 999.50 refunded", "inr 999.50"),
        ("charged $7.5 for the transfer", "$7.5"),
        ("sent 96.41 pounds to my sister", "96.41 pounds"),
    ],
)
def test_every_money_format_is_one_money_span(ruler: Language, text: str, amount: str) -> None:
    assert _ents(ruler, text) == [(amount, "MONEY")]


@pytest.mark.parametrize(
    "text",
    [
        "Show my top 5 merchants",
        "Ordered 3 pizzas",
        "A loan for 24 months",
        "My OTP is 483920",
        "Call 18002026161 for help",
        "flat number 1204",
        "paid 500 for auto",  # a bare number is the statistical model's call, not a rule's
    ],
)
def test_counts_identifiers_and_bare_numbers_are_not_money(ruler: Language, text: str) -> None:
    assert [label for _, label in _ents(ruler, text)] == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("spent at MYNTRA on 14-09-25. Not you?", "14-09-25"),
        ("debited on 16/05/2025 via UPI", "16/05/2025"),
        ("credited on 03-Oct-25", "03-Oct-25"),
        ("due by 20-Oct-2025", "20-Oct-2025"),
    ],
)
def test_numeric_dates_leave_the_preposition_out(ruler: Language, text: str, date: str) -> None:
    assert _ents(ruler, text) == [(date, "DATE")]


def test_patterns_can_be_chosen_by_family() -> None:
    assert {p["label"] for p in patterns(dates=False)} == {"MONEY"}
    assert {p["label"] for p in patterns(money=False)} == {"DATE"}


def test_placement_variants_restore_the_pipeline() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    add_ruler(nlp, "before")
    nlp.initialize()
    load_patterns(nlp)
    names = dict.fromkeys(name for name, _ in placement_variants(nlp))
    assert list(names) == ["as_trained", "off", "before", "after", "after_overwrite"]
    assert nlp.pipe_names == [RULER, "ner"]
    assert _ents(nlp, "Paid ₹450")[:1] == [("₹450", "MONEY")]  # the ruler still has its patterns


def _with_ents(text: str, *ents: tuple[int, int, str]) -> Doc:
    doc = spacy.blank("en")(text)
    doc.ents = [Span(doc, start, end, label) for start, end, label in ents]  # token offsets
    return doc


@pytest.mark.parametrize(
    ("text", "ent", "expected"),
    [
        ("Spent 500 on Monday", (2, 4, "DATE"), "Monday"),  # leading preposition
        ("Paid from my HDFC savings account", (2, 6, "ACCOUNT"), "HDFC savings account"),  # possessive
        ("Invest in Nippon India Mutual Fund before March", (2, 7, "MERCHANT"), "Nippon India Mutual Fund"),
        ("The SBI card's limit", (1, 4, "ACCOUNT"), "SBI card"),  # trailing possessive 's
        ("kal ko Swiggy pe 450", (2, 4, "MERCHANT"), "Swiggy"),  # Hinglish postposition
        ("Spent at McDonald's today", (2, 4, "MERCHANT"), "McDonald's"),  # a brand keeps its 's
        ("Rs 500 to Swiggy", (0, 2, "MONEY"), "Rs 500"),  # amounts keep their words
    ],
)
def test_guideline_edges_are_trimmed(text: str, ent: tuple[int, int, str], expected: str) -> None:
    doc = _with_ents(text, ent)
    assert [doc.text[start:end] for start, end, _ in guideline_spans(doc)] == [expected]


@pytest.mark.parametrize(
    ("text", "ent", "kept"),
    [
        ("Call 18002026161 for help", (1, 2, "MONEY"), False),  # seven digits or more
        ("the pin code is 560037", (4, 5, "MONEY"), False),  # five or more after an identifier word
        ("Ref 527614 done", (1, 2, "MONEY"), False),
        ("paid 150000 for the bike", (1, 2, "MONEY"), True),  # six digits, no identifier word
        ("paid 500 for auto", (1, 2, "MONEY"), True),
    ],
)
def test_identifiers_are_never_money(text: str, ent: tuple[int, int, str], kept: bool) -> None:
    assert bool(guideline_spans(_with_ents(text, ent))) is kept
