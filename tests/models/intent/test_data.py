"""Loading labelled intent files, the committed splits, BANKING77, subsampling and noise."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from nivesh_ml.data.public import assert_not_test
from nivesh_ml.errors import DataError, SchemaError
from nivesh_ml.models.intent.config import DATA_DIR, LABELS
from nivesh_ml.models.intent.data import (
    load_banking77_splits,
    load_labelled,
    load_nivesh_splits,
    perturb,
    subsample,
)


def test_jsonl_and_csv_load_alike(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"text": "hi", "intent": "greeting_smalltalk", "extra": 1}) + "\n\n", encoding="utf-8"
    )
    (tmp_path / "a.csv").write_text("intent,text\ngreeting_smalltalk,hi\n", encoding="utf-8")
    from_jsonl, from_csv = load_labelled(tmp_path / "a.jsonl"), load_labelled(tmp_path / "a.csv")
    assert list(from_jsonl.columns) == ["text", "intent"]
    assert from_jsonl.equals(from_csv)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('{"text": "hi"}\n', SchemaError),
        ("not json\n", DataError),
        ('["hi", "greeting_smalltalk"]\n', SchemaError),
        ("", DataError),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, content: str, error: type[Exception]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(error):
        load_labelled(path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_labelled(tmp_path / "nope.jsonl")


def test_committed_splits_load_with_every_label_and_a_guarded_test_split() -> None:
    splits = load_nivesh_splits(DATA_DIR, LABELS)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (1415, 310, 310)
    for frame in (splits.train, splits.validation, splits.test):
        assert set(frame["intent"]) == set(LABELS)
    assert_not_test(splits.train)
    with pytest.raises(DataError):
        assert_not_test(splits.test)


def test_subsample_keeps_at_most_n_per_label_and_the_marks() -> None:
    test = load_nivesh_splits(DATA_DIR, LABELS).test
    small = subsample(test, 3, seed=1)
    assert small["intent"].value_counts().max() == 3
    assert set(small["intent"]) == set(LABELS)
    assert small.attrs["split"] == "test"
    assert small.equals(subsample(test, 3, seed=1))


def test_perturb_is_seeded_and_keeps_the_words_recognisable() -> None:
    text = "How much did I spend on Swiggy last month?"
    noisy = [perturb(text, random.Random(seed)) for seed in range(20)]
    assert noisy == [perturb(text, random.Random(seed)) for seed in range(20)]
    assert any(n != text for n in noisy)
    for n in noisy:
        assert abs(len(n) - len(text)) <= 2
        assert n.lower().startswith("how")


@pytest.mark.shared_data
def test_banking77_holds_out_a_stratified_tenth_for_validation(shared_data: Path) -> None:
    splits = load_banking77_splits(shared_data / "banking77", seed=42)
    assert len(splits.labels) == 77
    total = len(splits.train) + len(splits.validation)
    assert len(splits.validation) == pytest.approx(total / 10, rel=0.05)
    assert set(splits.validation["intent"]) == set(splits.labels)
    assert not set(splits.train["text"]) & set(splits.validation["text"]) - {""}
    assert_not_test(splits.train)
    with pytest.raises(DataError):
        assert_not_test(splits.test)
