"""Benchmark modes on real public data: Taiwan credit-card default and Statlog German credit.

Each trains on the data set's ``train.csv`` and is scored on its ``test.csv``, which is loaded
as an evaluation frame only (its rows carry the test-split mark, and :func:`make_splits`
refuses them). Inputs are behaviour and credit terms only; the data sets' demographic columns
are fairness groups, never inputs:

- Taiwan: repayment status, bills, payments and the credit limit (19 inputs); ``SEX``, ``AGE``,
  ``MARRIAGE`` and ``EDUCATION`` are left out. Groups: sex and age band.
- German: the 17 attributes besides ``personal_status_sex`` (sex and marital status), ``age_years``
  and ``foreign_worker``; A-coded attributes are one-hot encoded over the codebook's codes.
  Groups: sex and age band.

Monotone constraints: Taiwan's ``PAY_*`` (months of payment delay) only; German none, since its
ordered attributes are coded categories.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nivesh_ml.data.public import (
    GERMAN,
    GERMAN_CATEGORICAL,
    GERMAN_FEATURES,
    GERMAN_LABEL,
    TAIWAN,
    TAIWAN_LABEL,
    german_codebook,
    load_german_credit,
    load_taiwan_credit,
)
from nivesh_ml.errors import DataError
from nivesh_ml.models.credit_risk.config import age_band
from nivesh_ml.models.credit_risk.data import CreditData
from nivesh_ml.models.credit_risk.schema import FeatureSchema, FeatureSpec

__all__ = ["BENCHMARKS", "german_schema", "load_benchmark", "resolve_data_dir", "taiwan_schema"]

BENCHMARKS: dict[str, str] = {"taiwan": TAIWAN, "german": GERMAN}  # option name -> data set folder
GERMAN_EXCLUDED = ("personal_status_sex", "age_years", "foreign_worker")
_MONEY = 1e10


def resolve_data_dir(name: str, data_dir: Path) -> Path:
    """The folder holding the data set's folder: ``data_dir`` itself, or its parent if it is the set."""
    folder = BENCHMARKS[name]
    if (data_dir / folder).is_dir() or data_dir.name != folder:
        return data_dir
    return data_dir.parent


def load_benchmark(name: str, data_dir: Path) -> CreditData:
    """The benchmark ``name`` (taiwan or german) from ``data_dir``: train.csv to fit, test.csv to score."""
    if name not in BENCHMARKS:
        raise DataError(f"unknown credit benchmark {name!r}; choose one of nivesh, {', '.join(BENCHMARKS)}")
    root = resolve_data_dir(name, Path(data_dir))
    return _taiwan(root) if name == "taiwan" else _german(root)


def taiwan_schema() -> FeatureSchema:
    """Taiwan's behaviour inputs: limit, six months of repayment status, bills and payments."""
    delays = [
        FeatureSpec(
            f"PAY_{i}",
            "count",
            f"repayment status, month {i} (months of delay)",
            -2,
            9,
            monotone=1,
            family="delay",
        )
        for i in (0, 2, 3, 4, 5, 6)
    ]
    bills = [
        FeatureSpec(f"BILL_AMT{i}", "number", f"bill statement, month {i} (NT$)", -_MONEY, _MONEY)
        for i in range(1, 7)
    ]
    paid = [
        FeatureSpec(f"PAY_AMT{i}", "number", f"amount paid, month {i} (NT$)", 0, _MONEY) for i in range(1, 7)
    ]
    limit = FeatureSpec("LIMIT_BAL", "number", "credit limit (NT$)", 0, _MONEY)
    return FeatureSchema("taiwan", [limit, *delays, *bills, *paid])


def german_schema(data_dir: Path) -> FeatureSchema:
    """German credit's inputs without sex, age or nationality; codes from its codebook."""
    codebook = german_codebook(data_dir)
    specs = []
    for name in GERMAN_FEATURES:
        if name in GERMAN_EXCLUDED:
            continue
        if name in GERMAN_CATEGORICAL:
            specs.append(
                FeatureSpec(name, "category", name.replace("_", " "), categories=tuple(codebook.codes[name]))
            )
        else:
            specs.append(FeatureSpec(name, "count", codebook.numeric.get(name, name), 0, 1e7))
    return FeatureSchema("german", specs)


def _taiwan(root: Path) -> CreditData:
    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(
            sex=frame["SEX"].map({1: "male", 2: "female"}).fillna("unknown"),
            age_band=frame["AGE"].map(lambda age: age_band(float(age))),
        )

    return CreditData(
        name="taiwan",
        schema=taiwan_schema(),
        label=TAIWAN_LABEL,
        groups=("sex", "age_band"),
        train=prepare(load_taiwan_credit(root, "train")),
        test=prepare(load_taiwan_credit(root, "test")),
        source=str(root / TAIWAN),
    )


def _german(root: Path) -> CreditData:
    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(age_band=frame["age_years"].map(lambda age: age_band(float(age))))

    return CreditData(
        name="german",
        schema=german_schema(root),
        label=GERMAN_LABEL,
        groups=("sex", "age_band"),
        train=prepare(load_german_credit(root, "train")),
        test=prepare(load_german_credit(root, "test")),
        source=str(root / GERMAN),
    )
