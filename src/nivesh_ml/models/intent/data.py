"""Labelled queries in, frames out: the Nivesh splits, BANKING77, any labelled file, augmentation.

Every frame has two ``object`` columns, ``text`` and ``intent``. Test splits carry
``attrs["split"] == "test"`` so :func:`nivesh_ml.data.public.assert_not_test` keeps them out of
training.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nivesh_ml.data.public import BANKING77, assert_not_test, banking77_intents, load_banking77
from nivesh_ml.errors import DataError, SchemaError

__all__ = [
    "DATASET",
    "Splits",
    "load_banking77_splits",
    "load_labelled",
    "load_nivesh_splits",
    "perturb",
    "subsample",
]

DATASET = "nivesh-intents"
COLUMNS = ("text", "intent")
_PUNCTUATION = re.compile(r"[?.!,;:'\"]")


@dataclass(frozen=True)
class Splits:
    """Training, validation (early stopping and the threshold) and test (the reported figures)."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    labels: tuple[str, ...]
    sources: dict[str, str]  # split -> where it was read from


def load_labelled(path: Path) -> pd.DataFrame:
    """A JSONL file of ``{"text", "intent"}`` objects or a CSV with columns ``text,intent``."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    else:
        frame = pd.DataFrame(_read_jsonl(path))
    return _checked(frame, str(path))


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise SchemaError(f"{path}:{number}: expected an object with text and intent")
        rows.append(row)
    return rows


def _checked(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise SchemaError(f"{source}: missing column(s) {', '.join(missing)}; expected text and intent")
    frame = frame.loc[:, list(COLUMNS)]
    if frame.empty:
        raise DataError(f"{source}: no labelled rows")
    if frame.isna().any().any():
        raise SchemaError(f"{source}: every row needs a text and an intent")
    return frame.astype({"text": object, "intent": object}).reset_index(drop=True)


def load_nivesh_splits(data_dir: Path, labels: tuple[str, ...]) -> Splits:
    """The committed train/validation/test JSONL files of the Nivesh intent data set."""
    frames: dict[str, pd.DataFrame] = {}
    for split in ("train", "validation", "test"):
        frame = load_labelled(data_dir / f"{split}.jsonl")
        unknown = sorted(set(frame["intent"]) - set(labels))
        if unknown:
            raise SchemaError(f"{data_dir / split}.jsonl: unknown intent(s) {', '.join(unknown)}")
        frame.attrs.update(dataset=DATASET, split=split)
        frames[split] = frame
    sources = {split: str(data_dir / f"{split}.jsonl") for split in frames}
    return Splits(frames["train"], frames["validation"], frames["test"], labels, sources)


def load_banking77_splits(data_dir: Path, *, holdout: float = 0.1, seed: int = 42) -> Splits:
    """BANKING77's train.csv less a stratified ``holdout`` for validation, and its test.csv.

    ``data_dir`` is the BANKING77 folder itself or the folder of shipped data sets holding it.
    """
    data_dir = _datasets_root(data_dir, BANKING77)
    full = load_banking77(data_dir, "train")
    assert_not_test(full)
    validation = full.groupby("intent", group_keys=False).sample(frac=holdout, random_state=seed)
    train = full.drop(index=validation.index)
    test = load_banking77(data_dir, "test")
    source = str(data_dir / BANKING77)
    frames = (train.reset_index(drop=True), validation.reset_index(drop=True), test)
    for frame, split in zip(frames, ("train", "validation", "test"), strict=True):
        frame.attrs.update(dataset="banking77", split=split)
    labels = tuple(banking77_intents(data_dir))
    sources = {
        "train": f"{source}/train.csv",
        "validation": f"{source}/train.csv",
        "test": f"{source}/test.csv",
    }
    return Splits(*frames, labels=labels, sources=sources)


def _datasets_root(path: Path, name: str) -> Path:
    # the public loaders take the folder *holding* the data set; accept the data set's own too
    return path.parent if path.name == name and (path / "SOURCE.md").is_file() else path


def subsample(frame: pd.DataFrame, rows_per_label: int, seed: int) -> pd.DataFrame:
    """At most ``rows_per_label`` rows of each intent (quick runs), keeping the frame's marks."""
    shuffled = frame.sample(frac=1.0, random_state=seed)
    sample = shuffled.groupby("intent", sort=False).head(rows_per_label).reset_index(drop=True)
    sample.attrs.update(frame.attrs)
    return sample


def perturb(text: str, rng: random.Random) -> str:
    """One kind of noise people type: lower case without punctuation, or a one-letter typo."""
    if rng.random() < 0.4:
        return _PUNCTUATION.sub("", text).lower()
    return _typo(text, rng)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, word in enumerate(words) if len(word) >= 5 and word.isalpha()]
    if not candidates:
        return text
    index = rng.choice(candidates)
    word, at = words[index], rng.randrange(1, len(words[index]) - 1)
    edits = (
        word[:at] + word[at + 1 :],  # dropped letter
        word[:at] + word[at + 1] + word[at] + word[at + 2 :],  # swapped letters
        word[:at] + word[at] + word[at:],  # doubled letter
    )
    words[index] = rng.choice(edits)
    return " ".join(words)
