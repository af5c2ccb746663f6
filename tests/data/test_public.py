"""The shipped public data sets: checksums, row counts, typed frames, and the test-split guard."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nivesh_ml.data.public import (
    DATASETS,
    GERMAN_FAIRNESS,
    GERMAN_FEATURES,
    GERMAN_LABEL,
    TAIWAN_FAIRNESS,
    TAIWAN_FEATURES,
    TAIWAN_LABEL,
    _verify,
    assert_not_test,
    banking77_intents,
    german_codebook,
    load_banking77,
    load_birmingham,
    load_german_credit,
    load_nlupp,
    load_taiwan_credit,
    nlupp_ner_examples,
    verify,
    verify_all,
)
from nivesh_ml.data.public._manifest import parse_manifest
from nivesh_ml.data.versioning import file_sha256, files_version
from nivesh_ml.errors import ChecksumMismatchError, DataError, DatasetMissingError, SchemaError

DATA_DIR = Path(
    os.environ.get("NIVESH_DATASETS_DIR", Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
).resolve()
NER_LABELS = {"MONEY", "DATE", "MERCHANT", "CATEGORY"}

shared_data = pytest.mark.shared_data


def _fake_dataset(data_dir: Path, name: str, files: dict[str, bytes], *, sizes: bool = True) -> Path:
    """A data set folder holding ``files`` and a SOURCE.md listing their checksums."""
    folder = data_dir / name
    folder.mkdir(parents=True)
    rows = []
    for file, payload in files.items():
        (folder / file).write_bytes(payload)
        digest = hashlib.sha256(payload).hexdigest()
        rows.append(f"| {file} | {len(payload)} | {digest} |" if sizes else f"| {file} | {digest} |")
    header = "| file | bytes | sha256 |\n|---|---|---|" if sizes else "| file | sha256 |\n|---|---|"
    (folder / "SOURCE.md").write_text(f"# {name}\n\n{header}\n" + "\n".join(rows) + "\n")
    return folder


def _copy_dataset(data_dir: Path, name: str, files: list[str]) -> Path:
    """A copy of SOURCE.md and ``files`` of a shipped data set under ``data_dir``."""
    folder = data_dir / name
    folder.mkdir(parents=True)
    for file in ["SOURCE.md", *files]:
        shutil.copyfile(DATA_DIR / name / file, folder / file)
    return folder


def _one_line(error: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


# -- manifests and verification ---------------------------------------------------------------


def test_parse_manifest_merges_the_train_and_test_tables() -> None:
    sha_a, sha_b = "a" * 64, "b" * 64
    markdown = (
        "# x\n\n| file | bytes | sha256 |\n|---|---|---|\n"
        f"| train.csv | 1,024 | {sha_a} |\n| LICENSE | 9 | {sha_b} |\n\n"
        "## The test split\n\n| file | sha256 |\n|---|---|\n"
        f"| test.csv | {sha_a} |\n| LICENSE | {sha_b} |\n\n| other | table |\n|---|---|\n| a | b |\n"
    )
    entries = parse_manifest("x", markdown)
    assert sorted(entries) == ["LICENSE", "test.csv", "train.csv"]
    assert (entries["train.csv"].size, entries["test.csv"].size, entries["LICENSE"].size) == (1024, None, 9)


@pytest.mark.parametrize(
    "table",
    [
        "| file | sha256 |\n|---|---|\n| a.csv | nothex |",
        "| file | sha256 |\n|---|---|\n| ../a.csv | " + "a" * 64 + " |",
        "| file | sha256 |\n|---|---|\n| a.csv | " + "a" * 64 + " |\n| a.csv | " + "b" * 64 + " |",
        "no tables here",
    ],
)
def test_parse_manifest_rejects_malformed_tables(table: str) -> None:
    with pytest.raises(DataError, match=r"^x: SOURCE\.md"):
        parse_manifest("x", table)


def test_a_missing_folder_raises_one_line_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError) as error:
        verify("banking77", tmp_path)
    message = _one_line(error)
    assert message.startswith("banking77: ")
    assert str(tmp_path / "banking77") in message
    assert "NIVESH_DATASETS_DIR" in message


def test_a_missing_file_raises_one_line_naming_it(tmp_path: Path) -> None:
    folder = _fake_dataset(tmp_path, "german_credit", {"train.csv": b"a\n", "test.csv": b"b\n"})
    (folder / "test.csv").unlink()
    verify("german_credit", tmp_path, ["train.csv"])
    with pytest.raises(DatasetMissingError) as error:
        verify("german_credit", tmp_path)
    assert _one_line(error) == (
        f"german_credit: test.csv missing under {folder}; point NIVESH_DATASETS_DIR or --data-dir "
        "at the folder holding the shipped data sets"
    )


def test_an_edited_file_of_the_same_size_fails_its_sha256(tmp_path: Path) -> None:
    folder = _fake_dataset(tmp_path, "nlupp_banking", {"fold0.json": b"[]"}, sizes=False)
    (folder / "fold0.json").write_bytes(b"{}")
    with pytest.raises(ChecksumMismatchError, match=r"^nlupp_banking: fold0\.json .* sha256") as error:
        verify("nlupp_banking", tmp_path)
    _one_line(error)


def test_unknown_names_files_and_splits_are_data_errors(tmp_path: Path) -> None:
    _fake_dataset(tmp_path, "german_credit", {"train.csv": b"a\n"})
    with pytest.raises(DataError, match="unknown data set 'nope'"):
        verify("nope", tmp_path)
    with pytest.raises(DataError, match=r"lists no checksum for extra\.csv"):
        verify("german_credit", tmp_path, ["extra.csv"])
    with pytest.raises(DataError, match="split must be one of train, test"):
        load_german_credit(tmp_path, "valid")  # type: ignore[arg-type]


def test_a_file_is_hashed_once_per_path_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _fake_dataset(tmp_path, "german_credit", {"train.csv": b"a\n", "codebook.json": b"{}"})
    hashed: list[Path] = []

    def counting_sha256(path: Path) -> str:
        hashed.append(path)
        return file_sha256(path)

    monkeypatch.setattr(_verify, "file_sha256", counting_sha256)
    _verify._sha256.cache_clear()
    verify("german_credit", tmp_path)
    verify("german_credit", tmp_path)
    assert sorted(path.name for path in hashed) == ["codebook.json", "train.csv"]
    stat = (folder / "train.csv").stat()
    os.utime(folder / "train.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    verified = verify("german_credit", tmp_path)
    assert [path.name for path in hashed[2:]] == ["train.csv"]
    assert verified.version == files_version([folder / file for file in verified.files], root=folder)


def test_verify_all_on_an_empty_dir_reports_every_data_set_missing(tmp_path: Path) -> None:
    statuses = verify_all(tmp_path)
    assert [status.name for status in statuses] == list(DATASETS)
    for status in statuses:
        assert not status.ok
        assert status.rows is None
        assert status.message.startswith(f"{status.name}: folder ")
        assert "\n" not in status.message
        assert status.licence == DATASETS[status.name].licence


def test_every_data_set_is_credited() -> None:
    for name, spec in DATASETS.items():
        assert spec.name == name
        assert spec.licence
        assert spec.attribution
        assert spec.citation
        assert spec.intended_use
    assert DATASETS["birmingham_purchase_cards"].attribution.startswith(
        "Contains public sector information licensed under the Open Government Licence v3.0"
    )


# -- the test-split guard ---------------------------------------------------------------------


def test_assert_not_test_refuses_test_frames_and_their_slices() -> None:
    test = pd.DataFrame({"x": [1, 2, 3]})
    test.attrs.update(dataset="german_credit", split="test")
    with pytest.raises(DataError, match="never train on a test split") as error:
        assert_not_test(test)
    assert _one_line(error).startswith("german_credit: ")
    with pytest.raises(DataError):
        assert_not_test(test.iloc[:2][["x"]])
    train = test.copy()
    train.attrs["split"] = "train"
    assert_not_test(train)
    assert_not_test(pd.DataFrame({"x": [1]}))


# -- NLU++ NER mapping on a hand-made fold ----------------------------------------------------


def _fake_nlupp(data_dir: Path, utterances: list[dict[str, object]]) -> None:
    _fake_dataset(data_dir, "nlupp_banking", {"fold0.json": json.dumps(utterances).encode()}, sizes=False)


def test_ner_mapping_keeps_our_labels_and_drops_overlaps_deterministically(tmp_path: Path) -> None:
    text = "pay 20 pounds to amazon prime next week"
    slots = {
        "amount_of_money": {"text": "20 pounds", "span": [4, 13]},
        "number": {"text": "20", "span": [4, 6]},
        "company_name": {"text": "amazon prime", "span": [17, 29]},
        "shopping_category": {"text": "amazon", "span": [17, 23]},
        "date_period": {"text": "next week", "span": [30, 39]},
    }
    _fake_nlupp(tmp_path, [{"text": text, "slots": slots}, {"text": "Hello", "intents": ["greet"]}])
    first, greeting = nlupp_ner_examples(tmp_path)
    assert first.entities == [(4, 13, "MONEY"), (17, 29, "MERCHANT"), (30, 39, "DATE")]
    assert greeting.entities == []
    assert [e.text for e in nlupp_ner_examples(tmp_path, drop_overlap_with={" hello "})] == [text]


def test_a_span_that_does_not_read_its_slot_text_is_a_schema_error(tmp_path: Path) -> None:
    _fake_nlupp(
        tmp_path, [{"text": "pay 20 pounds", "slots": {"amount_of_money": {"text": "20", "span": [4, 13]}}}]
    )
    with pytest.raises(SchemaError, match="reads '20 pounds', not '20'"):
        load_nlupp(tmp_path)
    with pytest.raises(DataError, match="no fold 3; folds are 0-0"):
        load_nlupp(tmp_path, folds=[3])


# -- the shipped data ------------------------------------------------------------------------


@shared_data
def test_every_shipped_data_set_matches_its_source_md() -> None:
    statuses = verify_all(DATA_DIR)
    assert [(s.name, s.ok) for s in statuses] == [(name, True) for name in DATASETS], statuses
    assert {s.name: s.rows for s in statuses} == {n: spec.total_rows for n, spec in DATASETS.items()}


@shared_data
def test_a_truncated_copy_fails_naming_the_file(tmp_path: Path) -> None:
    folder = _copy_dataset(tmp_path, "german_credit", ["train.csv"])
    (folder / "train.csv").write_bytes((folder / "train.csv").read_bytes()[:-100])
    with pytest.raises(ChecksumMismatchError) as error:
        load_german_credit(tmp_path, "train")
    assert _one_line(error).startswith(f"german_credit: train.csv under {folder} is 64,033 bytes")


@shared_data
def test_banking77_splits_and_intents() -> None:
    train, test = load_banking77(DATA_DIR, "train"), load_banking77(DATA_DIR, "test")
    intents = banking77_intents(DATA_DIR)
    assert (len(train), len(test), len(intents)) == (10_003, 3_080, 77)
    assert list(train.columns) == ["text", "intent"]
    assert set(train["intent"]) == set(test["intent"]) == set(intents)
    assert not train["text"].str.contains("\r").any()
    assert not test["intent"].str.contains("\r").any()
    assert (train.attrs["split"], test.attrs["split"]) == ("train", "test")


@shared_data
def test_taiwan_credit_splits_dtypes_and_label() -> None:
    train, test = load_taiwan_credit(DATA_DIR, "train"), load_taiwan_credit(DATA_DIR, "test")
    assert (len(train), int(train[TAIWAN_LABEL].sum()), len(test), int(test[TAIWAN_LABEL].sum())) == (
        24_000,
        5_309,
        6_000,
        1_327,
    )
    assert list(train.columns) == ["ID", *TAIWAN_FEATURES, TAIWAN_LABEL]
    assert len(TAIWAN_FEATURES) == 23
    assert set(TAIWAN_FAIRNESS) <= set(TAIWAN_FEATURES)
    assert train[TAIWAN_LABEL].dtype == "int64"
    assert set(train[TAIWAN_LABEL]) == {0, 1}
    assert train["LIMIT_BAL"].dtype == "float64"
    assert train["AGE"].dtype == "int64"
    assert not train.isna().any().any()
    assert set(train["ID"]).isdisjoint(test["ID"])


@shared_data
def test_german_credit_label_sex_and_codebook() -> None:
    train, test = load_german_credit(DATA_DIR, "train"), load_german_credit(DATA_DIR, "test")
    assert (len(train), int(train[GERMAN_LABEL].sum()), len(test), int(test[GERMAN_LABEL].sum())) == (
        800,
        240,
        200,
        60,
    )
    pairs = set(zip(train["personal_status_sex"], train["sex"], strict=True))
    assert pairs <= {("A91", "male"), ("A92", "female"), ("A93", "male"), ("A94", "male"), ("A95", "female")}
    assert train["age_years"].dtype == "int64"
    assert train[GERMAN_LABEL].dtype == "int64"
    assert set(GERMAN_FAIRNESS) <= {*GERMAN_FEATURES, "sex"}
    codebook = german_codebook(DATA_DIR)
    assert (codebook.cost_bad_predicted_good, codebook.cost_good_predicted_bad) == (5, 1)
    for column, meanings in codebook.codes.items():
        if column in train.columns and column != "class":
            assert set(train[column]) <= set(meanings), column


@shared_data
def test_birmingham_transactions() -> None:
    frame = load_birmingham(DATA_DIR)
    assert len(frame) == 51_591
    assert list(frame.columns[:6]) == [
        "trans_date",
        "amount_gbp",
        "merchant_name",
        "card_number",
        "category",
        "directorate",
    ]
    assert frame["trans_date"].dtype == "datetime64[ns]"
    assert frame["amount_gbp"].dtype == "float64"
    assert frame["amount_gbp"].notna().all()
    assert frame["trans_date"].notna().all()
    foreign = frame[frame["original_cur"].notna() & (frame["original_cur"] != "GBP")]
    assert (foreign["amount_gbp"] == foreign["billing_gross_amt"]).all()
    assert len(foreign) > 0
    assert frame["category"].equals(frame["cac_desc_1"])
    assert "split" not in frame.attrs


@shared_data
def test_nlupp_utterances_and_ner_examples() -> None:
    frame = load_nlupp(DATA_DIR)
    assert len(frame) == 2_071
    assert frame["fold"].nunique() == 20
    assert set(load_nlupp(DATA_DIR, folds=[3, 1])["fold"]) == {1, 3}
    raw_texts = {
        (utterance["text"], slot["span"][0]): slot["text"]
        for fold in range(20)
        for utterance in json.loads((DATA_DIR / "nlupp_banking" / f"fold{fold}.json").read_text())
        for slot in utterance.get("slots", {}).values()
    }
    examples = nlupp_ner_examples(DATA_DIR)
    assert len(examples) == 2_071
    assert sum(len(e.entities) for e in examples) == 721
    for example in examples:
        for start, end, label in example.entities:
            assert label in NER_LABELS
            assert example.text[start:end] == raw_texts[(example.text, start)]
        ends = [end for _, end, _ in example.entities]
        assert all(end <= start for end, (start, _, _) in zip(ends, example.entities[1:], strict=False))


@shared_data
def test_nlupp_drops_the_banking77_test_queries_on_request() -> None:
    test_texts = set(load_banking77(DATA_DIR, "test")["text"])
    kept = nlupp_ner_examples(DATA_DIR, drop_overlap_with=test_texts)
    assert len(kept) == 2_071 - 3
