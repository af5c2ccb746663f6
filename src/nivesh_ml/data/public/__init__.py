"""Typed loaders for the real public data sets shipped beside the project (``NIVESH_DATASETS_DIR``).

Each data set lives in ``<data_dir>/<name>/`` with a SOURCE.md whose checksum tables are the
record of what the folder must hold. Every loader verifies the files it reads against those
tables first (:func:`verify`), then returns a typed, documented pandas frame::

    verify(name, data_dir, files=None) -> VerifiedDataset        verify_all(data_dir) -> [DatasetStatus]
    load_banking77(data_dir, split)        text, intent          banking77_intents(data_dir)
    load_nlupp(data_dir, folds=None)       fold, text, intents, slots
    nlupp_ner_examples(data_dir, folds=None, drop_overlap_with=None) -> [NerExample]
    load_taiwan_credit(data_dir, split)    TAIWAN_FEATURES, TAIWAN_LABEL
    load_german_credit(data_dir, split)    GERMAN_FEATURES, default, sex    german_codebook(data_dir)
    load_birmingham(data_dir)              trans_date, amount_gbp, merchant_name, card_number, ...

``split="test"`` frames carry ``attrs["split"] == "test"``; training code calls
:func:`assert_not_test` on what it fits. :data:`DATASETS` holds each data set's licence,
attribution and citation, which the README and ``nivesh-ml data check`` show. Nothing is read
at import time.
"""

from __future__ import annotations

from nivesh_ml.data.public._banking77 import BANKING77, banking77_intents, load_banking77
from nivesh_ml.data.public._birmingham import BIRMINGHAM, load_birmingham
from nivesh_ml.data.public._catalog import DATASETS, DatasetSpec, dataset_spec
from nivesh_ml.data.public._credit import (
    GERMAN,
    GERMAN_CATEGORICAL,
    GERMAN_FAIRNESS,
    GERMAN_FEATURES,
    GERMAN_LABEL,
    GERMAN_NUMERIC,
    TAIWAN,
    TAIWAN_FAIRNESS,
    TAIWAN_FEATURES,
    TAIWAN_LABEL,
    GermanCodebook,
    german_codebook,
    load_german_credit,
    load_taiwan_credit,
)
from nivesh_ml.data.public._frames import Split, assert_not_test
from nivesh_ml.data.public._nlupp import (
    NLUPP,
    NLUPP_NER_LABELS,
    NerExample,
    Span,
    load_nlupp,
    nlupp_ner_examples,
)
from nivesh_ml.data.public._verify import DatasetStatus, VerifiedDataset, verify, verify_all

__all__ = [
    "BANKING77",
    "BIRMINGHAM",
    "DATASETS",
    "GERMAN",
    "GERMAN_CATEGORICAL",
    "GERMAN_FAIRNESS",
    "GERMAN_FEATURES",
    "GERMAN_LABEL",
    "GERMAN_NUMERIC",
    "NLUPP",
    "NLUPP_NER_LABELS",
    "TAIWAN",
    "TAIWAN_FAIRNESS",
    "TAIWAN_FEATURES",
    "TAIWAN_LABEL",
    "DatasetSpec",
    "DatasetStatus",
    "GermanCodebook",
    "NerExample",
    "Span",
    "Split",
    "VerifiedDataset",
    "assert_not_test",
    "banking77_intents",
    "dataset_spec",
    "german_codebook",
    "load_banking77",
    "load_birmingham",
    "load_german_credit",
    "load_nlupp",
    "load_taiwan_credit",
    "nlupp_ner_examples",
    "verify",
    "verify_all",
]
