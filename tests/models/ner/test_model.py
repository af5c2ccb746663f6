"""The served NER object: predict frames, the hot path, the server's body, bad input, pickling."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest
import spacy

from nivesh_ml.errors import SchemaError, TrackingError
from nivesh_ml.models.ner.model import MAX_TEXT_CHARS, NerModel, predict_frame
from nivesh_ml.models.ner.rules import RULER, load_patterns


@pytest.fixture(scope="module")
def model() -> NerModel:
    """The served class around a rules-only pipeline (deterministic output)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler", name=RULER)
    load_patterns(nlp)
    return NerModel(nlp)


def test_extract_returns_text_label_and_offsets(model: NerModel) -> None:
    assert model.extract("Paid ₹450 on 14-09-25") == [
        {"text": "₹450", "label": "MONEY", "start": 5, "end": 9},
        {"text": "14-09-25", "label": "DATE", "start": 13, "end": 21},
    ]


def test_predict_gives_one_entity_list_per_row(model: NerModel) -> None:
    frame = predict_frame(["Paid ₹450", "hello", ""])
    frame.index = pd.Index([10, 11, 12])
    result = model.predict(None, frame)
    assert list(result.columns) == ["entities"]
    assert list(result.index) == [10, 11, 12]
    assert [len(row) for row in result["entities"]] == [1, 0, 0]


def test_serve_takes_the_request_body(model: NerModel) -> None:
    assert model.serve({"text": "Rs. 500"}) == {
        "entities": [{"text": "Rs. 500", "label": "MONEY", "start": 0, "end": 7}]
    }


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"query": "Paid ₹450"}, "expects"),
        ({"text": 450}, "must be a string"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "the limit is"),
    ],
)
def test_serve_refuses_bad_bodies(model: NerModel, request_body: dict[str, object], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        model.serve(request_body)


def test_predict_needs_a_text_column(model: NerModel) -> None:
    with pytest.raises(SchemaError, match="'text' column"):
        model.predict(None, pd.DataFrame({"query": ["hi"]}))


def test_pickles_without_the_pipeline(model: NerModel) -> None:
    restored = pickle.loads(pickle.dumps(model))
    with pytest.raises(TrackingError, match="before its pipeline was loaded"):
        restored.extract("hi")
