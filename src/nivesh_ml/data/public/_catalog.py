"""What each shipped public data set is, who made it, and what we owe them (attribution)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from nivesh_ml.errors import DataError

__all__ = ["DATASETS", "DatasetSpec", "dataset_spec"]


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """One shipped data set: its folder name, licence and the credit the README and CLI must give.

    ``rows`` holds the row counts SOURCE.md documents, per split (``"all"`` where there are no
    splits); a file whose checksum matches SOURCE.md has exactly these rows.
    """

    name: str
    title: str
    licence: str
    licence_file: str
    attribution: str
    citation: str
    intended_use: str
    rows: Mapping[str, int]

    @property
    def total_rows(self) -> int:
        """Rows over every split."""
        return sum(self.rows.values())


_CC_BY = "CC BY 4.0"
_POLYAI_REPO = "github.com/PolyAI-LDN/task-specific-datasets"

_SPECS = (
    DatasetSpec(
        name="banking77",
        title="BANKING77",
        licence=_CC_BY,
        licence_file="LICENSE",
        attribution=f"BANKING77 by PolyAI (Casanueva et al., 2020), {_CC_BY}, from {_POLYAI_REPO}.",
        citation=(
            "Casanueva, I., Temčinas, T., Gerz, D., Henderson, M., Vulić, I. (2020). Efficient Intent "
            "Detection with Dual Sentence Encoders. Proc. 2nd Workshop on NLP for ConvAI, ACL 2020. "
            "arXiv:2003.04807."
        ),
        intended_use=(
            "Benchmark mode of the intent pipeline (77 banking intents; test split for evaluation only)."
        ),
        rows={"train": 10_003, "test": 3_080},
    ),
    DatasetSpec(
        name="nlupp_banking",
        title="NLU++ (banking domain)",
        licence=_CC_BY,
        licence_file="LICENSE",
        attribution=(
            f"NLU++ banking domain by PolyAI (Casanueva et al., 2022), {_CC_BY}, from {_POLYAI_REPO}."
        ),
        citation=(
            "Casanueva, I., Vulić, I., Spithourakis, G., Budzianowski, P. (2022). NLU++: A Multi-Label, "
            "Slot-Rich, Generalisable Dataset for Natural Language Understanding in Task-Oriented "
            "Dialogue. Findings of NAACL 2022. arXiv:2204.13021."
        ),
        intended_use="Evaluation and extra training data for NER: MONEY, DATE, MERCHANT, CATEGORY.",
        rows={"all": 2_071},
    ),
    DatasetSpec(
        name="taiwan_credit_default",
        title="Default of credit card clients (Taiwan)",
        licence=_CC_BY,
        licence_file="LICENSE-CC-BY-4.0.txt",
        attribution=(
            f"Default of credit card clients, I-Cheng Yeh, UCI Machine Learning Repository, {_CC_BY}."
        ),
        citation=(
            "Yeh, I. C., Lien, C. H. (2009). The comparisons of data mining techniques for the "
            "predictive accuracy of probability of default of credit card clients. Expert Systems "
            "with Applications, 36(2), 2473-2480."
        ),
        intended_use="Credit-risk benchmark (80/20 stratified train/test; test split for evaluation only).",
        rows={"train": 24_000, "test": 6_000},
    ),
    DatasetSpec(
        name="german_credit",
        title="Statlog (German Credit Data)",
        licence=_CC_BY,
        licence_file="LICENSE-CC-BY-4.0.txt",
        attribution=(
            f"Statlog (German Credit Data), Hofmann, H. (1994), UCI Machine Learning Repository, {_CC_BY}."
        ),
        citation="Hofmann, H. (1994). Statlog (German Credit Data). UCI Machine Learning Repository.",
        intended_use="Credit-risk fairness checks by age, sex and foreign-worker status.",
        rows={"train": 800, "test": 200},
    ),
    DatasetSpec(
        name="birmingham_purchase_cards",
        title="Birmingham City Council purchase-card transactions, Dec 2016 - Nov 2017",
        licence="UK OGL v3.0",
        licence_file="LICENSE-OGL-UK-3.0.txt",
        attribution=(
            "Contains public sector information licensed under the Open Government Licence v3.0 "
            "(source: Birmingham City Council, Purchase Card Transactions)."
        ),
        citation=(
            "Birmingham City Council (2016-2017). Purchase Card Transactions. Birmingham open data portal."
        ),
        intended_use=(
            "Spending forecasting and unsupervised anomaly detection on real card transactions "
            "(no fraud labels)."
        ),
        rows={"all": 51_591},
    ),
)

DATASETS: Mapping[str, DatasetSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Every shipped data set by folder name, in the order the README and ``data check`` list them."""


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of data set ``name``; a :class:`DataError` naming the known ones if there is none."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None
