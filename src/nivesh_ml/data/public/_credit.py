"""The two credit data sets: Taiwan credit-card default (UCI) and Statlog German credit (UCI)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from nivesh_ml.data.public._frames import Split, check_split, require_columns, tag
from nivesh_ml.data.public._verify import verify
from nivesh_ml.errors import SchemaError

__all__ = [
    "GERMAN",
    "GERMAN_CATEGORICAL",
    "GERMAN_FAIRNESS",
    "GERMAN_FEATURES",
    "GERMAN_LABEL",
    "GERMAN_NUMERIC",
    "TAIWAN",
    "TAIWAN_FAIRNESS",
    "TAIWAN_FEATURES",
    "TAIWAN_LABEL",
    "GermanCodebook",
    "german_codebook",
    "load_german_credit",
    "load_taiwan_credit",
]

TAIWAN = "taiwan_credit_default"
TAIWAN_LABEL = "default_payment_next_month"
"""1 = the client defaulted the next month, 0 = not (int64)."""
_TAIWAN_MONEY = ("LIMIT_BAL", *(f"BILL_AMT{i}" for i in range(1, 7)), *(f"PAY_AMT{i}" for i in range(1, 7)))
_TAIWAN_CODES = ("SEX", "EDUCATION", "MARRIAGE", "AGE", *(f"PAY_{i}" for i in (0, 2, 3, 4, 5, 6)))
TAIWAN_FEATURES: tuple[str, ...] = (
    "LIMIT_BAL",
    *_TAIWAN_CODES,
    *_TAIWAN_MONEY[1:],
)
"""The published benchmark's inputs X1-X23, in file order; they include the fairness attributes."""
TAIWAN_FAIRNESS: tuple[str, ...] = ("SEX", "AGE", "MARRIAGE", "EDUCATION")
_TAIWAN_COLUMNS = ("ID", *TAIWAN_FEATURES, TAIWAN_LABEL)
_TAIWAN_DTYPES = {column: "float64" if column in _TAIWAN_MONEY else "int64" for column in _TAIWAN_COLUMNS}

GERMAN = "german_credit"
GERMAN_LABEL = "default"
"""Derived from ``class``: 1 = bad credit (class 2), 0 = good (class 1); int64."""
GERMAN_NUMERIC: tuple[str, ...] = (
    "duration_months",
    "credit_amount",
    "installment_rate_pct",
    "residence_since",
    "age_years",
    "existing_credits",
    "num_dependents",
)
GERMAN_FEATURES: tuple[str, ...] = (
    "checking_status",
    "duration_months",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings_status",
    "employment_since",
    "installment_rate_pct",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age_years",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "num_dependents",
    "own_telephone",
    "foreign_worker",
)
"""The 20 attributes of german.doc, in file order (A-codes kept; see :func:`german_codebook`)."""
GERMAN_CATEGORICAL: tuple[str, ...] = tuple(c for c in GERMAN_FEATURES if c not in GERMAN_NUMERIC)
GERMAN_FAIRNESS: tuple[str, ...] = ("age_years", "sex", "foreign_worker")
_GERMAN_COLUMNS = (*GERMAN_FEATURES, "class")
_GERMAN_INTS = (*GERMAN_NUMERIC, "class")
_GERMAN_DTYPES = {column: "int64" if column in _GERMAN_INTS else "object" for column in _GERMAN_COLUMNS}
_GERMAN_SEX: Mapping[str, str] = MappingProxyType(
    {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}
)


@dataclass(frozen=True, slots=True)
class GermanCodebook:
    """What german.doc says: the meaning of every A-code, the numeric columns, the cost matrix."""

    codes: dict[str, dict[str, str]]
    """Column -> A-code (or class value) -> meaning."""
    numeric: dict[str, str]
    """Numeric column -> description."""
    cost_bad_predicted_good: int
    """Cost of predicting good for an actual bad (5 in the published matrix)."""
    cost_good_predicted_bad: int
    """Cost of predicting bad for an actual good (1)."""


def load_taiwan_credit(data_dir: Path, split: Split) -> pd.DataFrame:
    """One split of the Taiwan credit-card default data, verified against SOURCE.md first.

    Columns in file order: ``ID`` (int64), ``LIMIT_BAL``, ``BILL_AMT1``-``6``, ``PAY_AMT1``-``6``
    (float64, NT$: the source writes some as ``5.00E+05``; all are whole), ``SEX``, ``EDUCATION``,
    ``MARRIAGE``, ``AGE``, ``PAY_0``, ``PAY_2``-``6`` (int64 codes, see SOURCE.md) and the label
    :data:`TAIWAN_LABEL` (int64 0/1). Test-split frames carry ``attrs["split"] == "test"``.
    """
    file = f"{check_split(TAIWAN, split)}.csv"
    folder = verify(TAIWAN, data_dir, [file]).path
    frame = pd.read_csv(folder / file, dtype=_TAIWAN_DTYPES, encoding="utf-8")
    require_columns(TAIWAN, file, frame, _TAIWAN_COLUMNS)
    return tag(frame, TAIWAN, split)


def load_german_credit(data_dir: Path, split: Split) -> pd.DataFrame:
    """One split of Statlog German credit, verified against SOURCE.md first.

    Columns: the 20 :data:`GERMAN_FEATURES` (A-code columns ``object``, :data:`GERMAN_NUMERIC`
    int64), ``class`` (int64, 1 = good, 2 = bad), then derived ``default`` (int64, 1 if class is 2)
    and ``sex`` ("female" for A92/A95, "male" for A91/A93/A94). ``age_years`` is int64.
    Test-split frames carry ``attrs["split"] == "test"``.
    """
    file = f"{check_split(GERMAN, split)}.csv"
    folder = verify(GERMAN, data_dir, [file]).path
    frame = pd.read_csv(folder / file, dtype=_GERMAN_DTYPES, keep_default_na=False, encoding="utf-8")
    require_columns(GERMAN, file, frame, _GERMAN_COLUMNS)
    frame[GERMAN_LABEL] = (frame["class"] == 2).astype("int64")
    frame["sex"] = _german_sex(file, frame["personal_status_sex"])
    return tag(frame, GERMAN, split)


def german_codebook(data_dir: Path) -> GermanCodebook:
    """The codebook.json beside the German credit data: A-code meanings and the cost matrix."""
    folder = verify(GERMAN, data_dir, ["codebook.json"]).path
    raw: dict[str, Any] = json.loads((folder / "codebook.json").read_text(encoding="utf-8"))
    try:
        costs = raw["_cost_matrix"]
        return GermanCodebook(
            codes={key: dict(value) for key, value in raw.items() if not key.startswith("_")},
            numeric=dict(raw["_numeric"]),
            cost_bad_predicted_good=int(costs["actual_bad_predicted_good"]),
            cost_good_predicted_bad=int(costs["actual_good_predicted_bad"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaError(f"{GERMAN}: codebook.json lacks or misshapes {exc}") from None


def _german_sex(file: str, codes: pd.Series) -> pd.Series:
    sex = codes.map(_GERMAN_SEX)
    unknown = sorted(set(codes[sex.isna()]))
    if unknown:
        raise SchemaError(f"{GERMAN}: {file} has unknown personal_status_sex codes {', '.join(unknown)}")
    return sex
