"""Behaviour of a trained NER pipeline: invariance to merchants and amount formats, DATE boundaries.

A small pipeline is trained once for this module (data/ner's training sentences, a few epochs,
no MLflow): these tests check what a model must do whatever its F1.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from nivesh_ml.models.ner.config import DEFAULT_DATA_DIR, NerConfig
from nivesh_ml.models.ner.data import load_corpus, read_examples
from nivesh_ml.models.ner.model import NerModel
from nivesh_ml.models.ner.rules import DATE_PREPOSITIONS
from nivesh_ml.models.ner.train import fit

# The production recipe, smaller: every data/ner training sentence each epoch (no NLU++ pool),
# four epochs of a narrower network; about 30 s of CPU.
BEHAVIOUR_CONFIG = replace(
    NerConfig(),
    width=64,
    depth=2,
    max_epochs=4,
    patience=4,
    handwritten_weight=2,
    invented_merchants=400,
    template_share=1.0,
    nlupp_train_folds=(),
)

# Names that are in no vocabulary of data/ner (checked below), in the frames users type.
UNSEEN_MERCHANTS = ("Zorvik Cafe", "Trilokam Stores", "Quibbly", "Naranpura Bakers")
MERCHANT_FRAMES = (
    "Paid ₹640 at {} yesterday",
    "How much did I spend at {} last month?",
    "Ordered from {} for ₹780 on Friday",
)


@pytest.fixture(scope="module")
def model() -> NerModel:
    corpus = load_corpus(DEFAULT_DATA_DIR, BEHAVIOUR_CONFIG, seed=0)
    return NerModel(fit(corpus, BEHAVIOUR_CONFIG, seed=0).nlp)


def _labelled(model: NerModel, text: str) -> list[tuple[str, str]]:
    return [(entity["text"], entity["label"]) for entity in model.extract(text)]


def test_the_unseen_merchants_are_unseen() -> None:
    corpus_text = (DEFAULT_DATA_DIR / "train.jsonl").read_text(encoding="utf-8").casefold()
    assert not [name for name in UNSEEN_MERCHANTS if name.casefold() in corpus_text]


@pytest.mark.parametrize("merchant", UNSEEN_MERCHANTS)
@pytest.mark.parametrize("frame", MERCHANT_FRAMES)
def test_an_unseen_merchant_is_still_a_merchant(model: NerModel, frame: str, merchant: str) -> None:
    assert (merchant, "MERCHANT") in _labelled(model, frame.format(merchant))


@pytest.mark.parametrize(
    "amount", ["₹2,500", "Rs. 2,500", "Rs.2500", "INR 2,500", "2,500 rupees", "2.5k", "Rs 2,500/-", "₹ 2500"]
)
@pytest.mark.parametrize("frame", ["Paid {} to Swiggy yesterday", "Spent {} on groceries last week"])
def test_an_amount_stays_money_whatever_its_format(model: NerModel, frame: str, amount: str) -> None:
    assert (amount, "MONEY") in _labelled(model, frame.format(amount))


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Spent ₹500 on groceries on Monday", "Monday"),
        ("How much have I spent on fuel since January?", "January"),
        ("Show my rent payments in March 2025", "March 2025"),
        ("What did I spend on travel during the last 30 days?", "the last 30 days"),
        ("My EMI is due on the 5th", "the 5th"),
    ],
)
def test_the_preposition_stays_outside_the_date(model: NerModel, text: str, date: str) -> None:
    assert (date, "DATE") in _labelled(model, text)


def test_no_date_in_the_test_split_starts_with_a_preposition(model: NerModel) -> None:
    texts = [example.text for example in read_examples(DEFAULT_DATA_DIR / "test.jsonl")]
    dates = [e["text"] for text in texts for e in model.extract(text) if e["label"] == "DATE"]
    assert dates
    assert [date for date in dates if date.split()[0].casefold() in DATE_PREPOSITIONS] == []
