"""NLU++ banking: 2,071 utterances in 20 folds, multi-label intents and character-span slots."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from nivesh_ml.data.public._frames import tag
from nivesh_ml.data.public._manifest import read_manifest
from nivesh_ml.data.public._verify import verify
from nivesh_ml.errors import DataError, SchemaError

__all__ = ["NLUPP", "NLUPP_NER_LABELS", "NerExample", "Span", "load_nlupp", "nlupp_ner_examples"]

NLUPP = "nlupp_banking"
_FOLD_FILE = re.compile(r"fold(\d+)\.json")

Span = tuple[int, int, str]
"""A character span ``(start, end, label)``, end exclusive."""

NLUPP_NER_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "amount_of_money": "MONEY",
        "date": "DATE",
        "date_period": "DATE",
        "date_from": "DATE",
        "date_to": "DATE",
        "company_name": "MERCHANT",
        "shopping_category": "CATEGORY",
    }
)
"""NLU++ slot name -> our NER label; every other slot (time, person_name, number, ...) is dropped."""


@dataclass(frozen=True, slots=True)
class NerExample:
    """One NER example in our format: ``entities`` are ``(start, end, LABEL)``, sorted, never overlapping."""

    text: str
    entities: list[Span] = field(default_factory=list)


def load_nlupp(data_dir: Path, folds: Sequence[int] | None = None) -> pd.DataFrame:
    """NLU++ banking utterances of ``folds`` (default: all), in fold then file order.

    Columns: ``fold`` (int64), ``text`` (object), ``intents`` (list[str], may be empty) and
    ``slots`` (list of ``(start, end, slot_name)``, sorted by start). Every span lies inside its
    text and reads the slot's annotated text. There is no test split: the paper's protocol
    trains on some folds and tests on the rest.
    """
    numbers = _folds(data_dir, folds)
    folder = verify(NLUPP, data_dir, [f"fold{number}.json" for number in numbers]).path
    rows = [row for number in numbers for row in _fold_rows(folder, number)]
    frame = pd.DataFrame(rows, columns=["fold", "text", "intents", "slots"])
    return tag(frame.astype({"fold": "int64"}), NLUPP)


def nlupp_ner_examples(
    data_dir: Path, folds: Sequence[int] | None = None, drop_overlap_with: Iterable[str] | None = None
) -> list[NerExample]:
    """NLU++ utterances as NER examples with our labels (see :data:`NLUPP_NER_LABELS`).

    Utterances without a mapped slot stay, with no entities (they teach the model restraint).
    ``drop_overlap_with`` removes utterances whose text equals one of those texts, ignoring case
    and surrounding space (e.g. the BANKING77 test queries). Where mapped spans overlap, the
    earliest, then the longest, is kept.
    """
    frame = load_nlupp(data_dir, folds)
    dropped = {_normalise(text) for text in drop_overlap_with or ()}
    return [
        NerExample(text=text, entities=_ner_entities(slots))
        for text, slots in zip(frame["text"], frame["slots"], strict=True)
        if _normalise(text) not in dropped
    ]


def _folds(data_dir: Path, folds: Sequence[int] | None) -> list[int]:
    """The fold numbers to read: those SOURCE.md lists, or ``folds`` once each are known to be there."""
    manifest = read_manifest(NLUPP, Path(data_dir) / NLUPP)
    listed = sorted(int(m.group(1)) for file in manifest if (m := _FOLD_FILE.fullmatch(file)))
    if folds is None:
        return listed
    unknown = sorted(set(folds) - set(listed))
    if unknown:
        raise DataError(f"{NLUPP}: no fold {unknown[0]}; folds are {listed[0]}-{listed[-1]}")
    return sorted(set(folds))


def _fold_rows(folder: Path, number: int) -> list[tuple[int, str, list[str], list[Span]]]:
    file = f"fold{number}.json"
    records = json.loads((folder / file).read_text(encoding="utf-8"))
    if not isinstance(records, list):
        raise SchemaError(f"{NLUPP}: {file} is not a JSON list of utterances")
    return [_row(file, number, record) for record in records]


def _row(file: str, number: int, record: Any) -> tuple[int, str, list[str], list[Span]]:
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise SchemaError(f"{NLUPP}: {file} holds an utterance without a text")
    text: str = record["text"]
    intents = [str(intent) for intent in record.get("intents", [])]
    slots = sorted(_slot(file, text, name, value) for name, value in record.get("slots", {}).items())
    return number, text, intents, slots


def _slot(file: str, text: str, name: str, value: Any) -> Span:
    """The slot's span, once it is known to lie inside ``text`` and to read the annotated text."""
    raw = value.get("span") if isinstance(value, dict) else None
    span = _span_inside(raw, text)
    if span is None:
        raise SchemaError(f"{NLUPP}: {file} slot {name} has span {raw!r}, not inside {text!r}")
    start, end = span
    expected = value.get("text")
    if expected is not None and text[start:end] != expected:
        raise SchemaError(
            f"{NLUPP}: {file} slot {name} span [{start}, {end}] reads {text[start:end]!r}, not {expected!r}"
        )
    return start, end, name


def _span_inside(raw: Any, text: str) -> tuple[int, int] | None:
    """``raw`` as ``(start, end)`` if it is ``[start, end]`` with ``0 <= start < end <= len(text)``."""
    if not (isinstance(raw, list) and len(raw) == 2 and all(type(i) is int for i in raw)):
        return None
    start, end = raw
    return (start, end) if 0 <= start < end <= len(text) else None


def _ner_entities(slots: Iterable[Span]) -> list[Span]:
    """Mapped spans, overlaps dropped: earliest start first, then the longest, then label order."""
    mapped = [(start, end, NLUPP_NER_LABELS[name]) for start, end, name in slots if name in NLUPP_NER_LABELS]
    kept: list[Span] = []
    for span in sorted(mapped, key=lambda s: (s[0], s[0] - s[1], s[2])):
        if all(span[0] >= other[1] or span[1] <= other[0] for other in kept):
            kept.append(span)
    return sorted(kept)


def _normalise(text: str) -> str:
    return text.strip().casefold()
