"""NER data code: reading labelled files, the training mix, invented merchants, NLU++ alignment."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from nivesh_ml.data.public import NerExample, assert_not_test
from nivesh_ml.errors import DataError
from nivesh_ml.models.ner.config import DEFAULT_DATA_DIR, NerConfig
from nivesh_ml.models.ner.data import (
    align_to_guideline,
    invent_merchant,
    load_corpus,
    nlupp_examples,
    read_examples,
    to_frame,
    unannotated_regions,
    with_invented_merchants,
)


def _write(path: Path, *records: object) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def test_read_examples_sorts_spans(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.jsonl", {"text": "₹450 Swiggy", "entities": [[5, 11, "MERCHANT"], [0, 4, "MONEY"]]}
    )
    assert read_examples(path) == [NerExample("₹450 Swiggy", [(0, 4, "MONEY"), (5, 11, "MERCHANT")])]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not a JSON object"),
        ('{"entities": []}', "expected"),
        ('{"text": "hi", "entities": [[0, 2]]}', "entity .* is not \\[start, end, LABEL\\]"),
        ('{"text": "hi", "entities": [[1, 9, "MONEY"]]}', "entity .* does not lie inside"),
        ('{"text": "hi", "entities": [[0, 2, "PERSON"]]}', "label 'PERSON' is not one of"),
    ],
)
def test_read_examples_names_the_bad_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "entities": []}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:2: " + message):
        read_examples(path)


def test_read_examples_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        read_examples(tmp_path / "nope.jsonl")


def test_frames_carry_their_split() -> None:
    frame = to_frame([NerExample("₹450", [(0, 4, "MONEY")])], "test")
    assert list(frame.columns) == ["text", "entities"]
    assert json.loads(frame.loc[0, "entities"]) == [[0, 4, "MONEY"]]
    with pytest.raises(DataError, match="never train on a test split"):
        assert_not_test(frame)


def test_invented_merchants_keep_every_other_span_and_its_text() -> None:
    example = NerExample(
        "Paid ₹450 to Swiggy yesterday", [(5, 9, "MONEY"), (13, 19, "MERCHANT"), (20, 29, "DATE")]
    )
    renamed = with_invented_merchants([example, NerExample("hi", [])], count=5, seed=0)
    assert len(renamed) == 1  # only examples with a merchant are renamed
    text, spans = renamed[0].text, renamed[0].entities
    assert [(text[s:e], label) for s, e, label in spans if label != "MERCHANT"] == [
        ("₹450", "MONEY"),
        ("yesterday", "DATE"),
    ]
    merchant = next(text[s:e] for s, e, label in spans if label == "MERCHANT")
    assert merchant != "Swiggy"
    assert text == f"Paid ₹450 to {merchant} yesterday"


def test_invented_names_are_varied_and_seeded() -> None:
    names = [invent_merchant(random.Random(seed)) for seed in range(200)]
    assert len(set(names)) > 180
    assert any(name.islower() for name in names)
    assert any(name.isupper() for name in names)
    assert invent_merchant(random.Random(7)) == invent_merchant(random.Random(7))


def test_corpus_mix_weights_handwritten_and_adds_invented(tmp_path: Path) -> None:
    hand = {
        "text": "kal Swiggy pe ₹450",
        "entities": [[0, 3, "DATE"], [4, 10, "MERCHANT"], [14, 18, "MONEY"]],
    }
    templated = {"text": "Paid ₹90 at DMart", "entities": [[5, 8, "MONEY"], [12, 17, "MERCHANT"]]}
    _write(tmp_path / "train.jsonl", hand, templated)
    _write(tmp_path / "handwritten.jsonl", hand, {"text": "dev one", "entities": []})
    _write(tmp_path / "dev.jsonl", {"text": "dev one", "entities": []})
    _write(tmp_path / "test.jsonl", {"text": "test one", "entities": []})
    config = replace(NerConfig(), handwritten_weight=3, invented_merchants=1)
    corpus = load_corpus(tmp_path, config, seed=0)
    texts = [example.text for example in corpus.train]
    assert texts.count(hand["text"]) == 3
    assert texts.count(templated["text"]) == 1
    assert len(texts) == 5  # 2 + 2 extra hand-written copies + 1 invented
    assert corpus.train_sentences == 2


def test_corpus_refuses_test_sentences_in_train(tmp_path: Path) -> None:
    for name in ("train", "dev", "test"):
        _write(tmp_path / f"{name}.jsonl", {"text": "Same sentence", "entities": []})
    with pytest.raises(DataError, match="also in train"):
        load_corpus(tmp_path, NerConfig(), seed=0)


def test_corpus_needs_its_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no train\.jsonl"):
        load_corpus(tmp_path, NerConfig(), seed=0)


def test_shipped_corpus_loads() -> None:
    corpus = load_corpus(DEFAULT_DATA_DIR, NerConfig.quick(), seed=0)
    assert corpus.train_sentences == NerConfig.quick().max_train_sentences
    assert len(corpus.test) > 100


@pytest.mark.parametrize(
    ("text", "span", "aligned"),
    [
        ("I need to close my account in 4 days", (27, 36, "DATE"), "4 days"),
        ("will it arrive before the 15th October", (26, 38, "DATE"), "the 15th October"),
        ("make it on Thursday", (11, 19, "DATE"), "Thursday"),
        ("charged $7.5 last week", (8, 12, "MONEY"), "$7.5"),
    ],
)
def test_nlupp_dates_align_to_the_guideline(text: str, span: tuple[int, int, str], aligned: str) -> None:
    start, end, _ = align_to_guideline(NerExample(text, [span])).entities[0]
    assert text[start:end] == aligned


@pytest.mark.shared_data
def test_nlupp_examples_read_the_folds(shared_data: Path) -> None:
    raw = nlupp_examples(shared_data, [19])
    aligned = nlupp_examples(shared_data, [19], aligned=True)
    assert len(raw) == len(aligned) > 50
    assert [e.text for e in raw] == [e.text for e in aligned]
    moved = sum(a.entities != b.entities for a, b in zip(raw, aligned, strict=True))
    assert 0 < moved < len(raw)


def test_unannotated_regions_cover_an_account_and_the_words_before_it() -> None:
    text = "can you move all the money from the saving account by Monday?"
    regions = [text[start:end] for start, end in unannotated_regions(text)]
    assert regions == ["money from the saving account"]  # three words, then the account words
    assert unannotated_regions("set up a transfer tomorrow") == []
