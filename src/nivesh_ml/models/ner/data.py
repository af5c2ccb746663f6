"""The NER data: labelled JSONL files, the training mix, and NLU++ in our conventions.

- :func:`read_examples` reads ``{"text", "entities": [[start, end, LABEL], ...]}`` lines, checking
  every span (a one-line :class:`~nivesh_ml.errors.DataError` names the file and line).
- :func:`load_corpus` reads data/ner's train/dev/test and builds the training mix: the
  hand-written training sentences repeated (they are the voice the model must learn; the
  template sentences only teach formats), plus sentences whose merchants are replaced by
  invented names, so the model learns where a merchant stands rather than which names exist.
- :func:`nlupp_examples` reads NLU++ banking folds, raw or aligned to our guideline
  (:func:`align_to_guideline`); :func:`with_nlupp` adds training folds as a partially annotated
  pool (:func:`unannotated_regions`).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from nivesh_ml.data.public import NerExample, Span, nlupp_ner_examples
from nivesh_ml.errors import DataError
from nivesh_ml.models.ner.config import LABELS, NerConfig

__all__ = [
    "Corpus",
    "align_to_guideline",
    "invent_merchant",
    "load_corpus",
    "nlupp_examples",
    "read_examples",
    "to_frame",
    "unannotated_regions",
    "with_invented_merchants",
    "with_nlupp",
]

SPLIT_FILES = {"train": "train.jsonl", "dev": "dev.jsonl", "test": "test.jsonl"}
HANDWRITTEN_FILE = "handwritten.jsonl"


@dataclass(frozen=True)
class Corpus:
    """The training pools, the dev split (model selection) and the test split (the report).

    Every epoch trains on all of ``core`` (the hand-written sentences, repeated) and ``partial``
    (sentences annotated for some labels only: NLU++ has no ACCOUNT), and on a share of
    ``templated`` (generated sentences and their invented-merchant copies).
    """

    core: list[NerExample]
    templated: list[NerExample]
    dev: list[NerExample]
    test: list[NerExample]
    source: Path
    train_sentences: int  # distinct sentences of train.jsonl used, before weighting and invention
    partial: list[NerExample] = field(default_factory=list)

    @property
    def train(self) -> list[NerExample]:
        """Every training example of every pool."""
        return self.core + self.templated + self.partial

    def parts(self) -> tuple[list[NerExample], list[NerExample], list[NerExample]]:
        """``(train, dev, test)``."""
        return self.train, self.dev, self.test


def read_examples(path: Path) -> list[NerExample]:
    """Every example of a labelled JSONL file; DataError on the first bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    return [_example(path, number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def _example(path: Path, number: int, line: str) -> NerExample:
    where = f"{path}:{number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        raise DataError(f"{where}: not a JSON object") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise DataError(f'{where}: expected {{"text": str, "entities": [[start, end, LABEL], ...]}}')
    text: str = record["text"]
    spans = [_span(where, text, raw) for raw in record.get("entities", [])]
    return NerExample(text=text, entities=sorted(spans))


def _span(where: str, text: str, raw: Any) -> Span:
    if not (isinstance(raw, list | tuple) and len(raw) == 3):
        raise DataError(f"{where}: entity {raw!r} is not [start, end, LABEL]")
    start, end, label = raw
    if not (type(start) is int and type(end) is int and 0 <= start < end <= len(text)):
        raise DataError(f"{where}: entity {raw!r} does not lie inside the text")
    if label not in LABELS:
        raise DataError(f"{where}: label {label!r} is not one of {', '.join(LABELS)}")
    return start, end, label


def to_frame(examples: Sequence[NerExample], split: str | None = None) -> pd.DataFrame:
    """Examples as a frame (``text``, ``entities`` as JSON) for data set logging and hashing.

    ``split`` marks the frame the way the public loaders do (``attrs["split"]``), so
    :func:`~nivesh_ml.data.public.assert_not_test` refuses a test frame handed to training.
    """
    frame = pd.DataFrame(
        {
            "text": [example.text for example in examples],
            "entities": [json.dumps([list(span) for span in example.entities]) for example in examples],
        }
    )
    frame.attrs["dataset"] = "nivesh-ner"
    if split is not None:
        frame.attrs["split"] = split
    return frame


# --- the training mix -------------------------------------------------------------------------


def load_corpus(data_dir: Path, config: NerConfig, seed: int) -> Corpus:
    """data/ner's splits, with the training mix of ``config`` built from train.jsonl."""
    missing = [name for name in SPLIT_FILES.values() if not (data_dir / name).is_file()]
    if missing:
        raise DataError(f"{data_dir}: no {', '.join(missing)}; point --data-dir at the NER data (data/ner)")
    train, dev, test = (read_examples(data_dir / SPLIT_FILES[split]) for split in ("train", "dev", "test"))
    _check_disjoint(train, test)
    if config.max_train_sentences is not None and len(train) > config.max_train_sentences:
        train = random.Random(seed).sample(train, config.max_train_sentences)  # nosec B311  # seeded sample
    handwritten = _handwritten_texts(data_dir)
    if not handwritten:  # no way to tell the voices apart: every sentence every epoch
        return Corpus(train, [], dev, test, data_dir, len(train))
    core = [example for example in train if example.text in handwritten] * config.handwritten_weight
    templated = [example for example in train if example.text not in handwritten]
    invented = with_invented_merchants(templated, config.invented_merchants, seed)
    return Corpus(core, templated + invented, dev, test, data_dir, len(train))


def _handwritten_texts(data_dir: Path) -> set[str]:
    path = data_dir / HANDWRITTEN_FILE
    return {example.text for example in read_examples(path)} if path.is_file() else set()


def _check_disjoint(train: Sequence[NerExample], test: Sequence[NerExample]) -> None:
    """Never train on a test sentence: the splits must not share a text (ignoring case)."""
    shared = {e.text.casefold() for e in train} & {e.text.casefold() for e in test}
    if shared:
        raise DataError(f"{len(shared)} test sentences are also in train, e.g. {sorted(shared)[0]!r}")


# Invented merchant names: pronounceable syllables plus, sometimes, a trade word, in the
# casings users type (Title, lower, UPPER, CamelCase).
_ONSETS = "b ch d f g h j k kh l m n p r s sh t v y z br kr tr pr st gr bl fl pl sw".split()  # noqa: SIM905
_VOWELS = "a e i o u aa ee oo ai ay ou".split()  # noqa: SIM905
_CODAS = ["", "", "n", "r", "x", "k", "l", "m", "s", "sh", "t", "ly", "fy", "ra", "ta", "go", "ka", "zo"]
_TRADE_WORDS = (  # noqa: SIM905 (word lists read better as one string)
    "Mart Cafe Foods Store Pharmacy Electronics Bakers Kitchen Fashion Hub Express Fresh Pay Travels "
    "Motors Jewellers Restaurant Supermarket Medicals Books Sports Living Bazaar Labs Finance Clinic"
).split()


def invent_merchant(rng: random.Random) -> str:
    """A merchant name that is in no vocabulary: ``Trivon``, ``kaashy fresh``, ``ZORAMA MART``."""
    words = [_invented_word(rng) for _ in range(rng.choice((1, 1, 1, 2)))]
    if rng.random() < 0.35:
        words.append(rng.choice(_TRADE_WORDS))
    draw = rng.random()
    if draw < 0.12:
        return " ".join(words).lower()
    if draw < 0.2:
        return " ".join(words).upper()
    if draw < 0.25 and len(words) > 1:
        return "".join(words)
    return " ".join(words)


def _invented_word(rng: random.Random) -> str:
    syllables = rng.choice((1, 2, 2, 3))
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
    return (word + rng.choice(_CODAS)).capitalize()


def with_invented_merchants(examples: Sequence[NerExample], count: int, seed: int) -> list[NerExample]:
    """``count`` examples (drawn from those with a MERCHANT) with every merchant renamed."""
    rng = random.Random(seed + 1)  # nosec B311  # seeded data augmentation, not security
    candidates = [example for example in examples if any(s[2] == "MERCHANT" for s in example.entities)]
    chosen = rng.sample(candidates, min(count, len(candidates)))
    return [_rename_merchants(example, rng) for example in chosen]


def _rename_merchants(example: NerExample, rng: random.Random) -> NerExample:
    text, position, spans = "", 0, []
    for start, end, label in example.entities:
        text += example.text[position:start]
        value = invent_merchant(rng) if label == "MERCHANT" else example.text[start:end]
        spans.append((len(text), len(text) + len(value), label))
        text += value
        position = end
    return NerExample(text + example.text[position:], spans)


# --- NLU++ ------------------------------------------------------------------------------------

# Leading words our guideline leaves out of a DATE (NLU++ sometimes keeps them: "in three days").
_DATE_PREPOSITIONS = re.compile(
    r"^(?:on|in|since|during|over|for|from|by|before|after|until|till|at|of|within|between|starting)\s+",
    re.IGNORECASE,
)
_ARTICLE_BEFORE = re.compile(r"\bthe\s+$", re.IGNORECASE)


def with_nlupp(corpus: Corpus, datasets_dir: Path, folds: Sequence[int]) -> Corpus:
    """``corpus`` with NLU++ ``folds`` (aligned to our guideline) as its ``partial`` pool."""
    return replace(corpus, partial=nlupp_examples(datasets_dir, folds, aligned=True))


# NLU++ never marks ACCOUNT: near an account word its "no entity" means "not annotated", so the
# words up to three before it are left unannotated in training rather than taught as O.
_ACCOUNT_WORD = (
    r"(?:accounts?|acc|a/c|cards?|wallets?|savings?|current|loans?|deposits?|fd|cc|ppf|nps|demat|isa"
    r"|overdraft)"
)
_ACCOUNT_REGION = re.compile(rf"(?:\S+\s+){{0,3}}\b{_ACCOUNT_WORD}(?:\s+{_ACCOUNT_WORD})*\b", re.IGNORECASE)


def unannotated_regions(text: str) -> list[tuple[int, int]]:
    """Character ranges of ``text`` an NLU++ example says nothing about (possible ACCOUNTs)."""
    return [match.span() for match in _ACCOUNT_REGION.finditer(text)]


def nlupp_examples(datasets_dir: Path, folds: Iterable[int], *, aligned: bool = False) -> list[NerExample]:
    """NLU++ banking ``folds`` as NER examples; ``aligned`` rewrites DATE spans to our guideline."""
    examples = nlupp_ner_examples(datasets_dir, folds=list(folds))
    return [align_to_guideline(example) for example in examples] if aligned else examples


def align_to_guideline(example: NerExample) -> NerExample:
    """NLU++'s DATE spans in our convention: no leading preposition, the article kept.

    NLU++ annotates "on the 15th" as ``15th`` and "in three days" as ``in three days``; our
    guideline says ``the 15th`` and ``three days``. Other labels are left as annotated.
    """
    return NerExample(example.text, [_align_date(example.text, span) for span in example.entities])


def _align_date(text: str, span: Span) -> Span:
    start, end, label = span
    if label != "DATE":
        return span
    preposition = _DATE_PREPOSITIONS.match(text[start:end])
    if preposition and start + preposition.end() < end:
        start += preposition.end()
    article = _ARTICLE_BEFORE.search(text[:start])
    if article:
        start = article.start()
    return start, end, label
