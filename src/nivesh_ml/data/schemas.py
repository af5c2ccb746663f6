"""Declared shapes of the data frames, as pandera schemas, and one way to check a frame against one.

:func:`validate` runs every check (lazily, so all failures are collected) and raises
:class:`nivesh_ml.errors.SchemaError` with a one-line message naming the table, the columns and
checks that failed, how many rows and a few failing values. Schemas are strict: a missing or an
extra column fails.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError as PanderaSchemaError
from pandera.errors import SchemaErrors

from nivesh_ml.data.synthetic import catalog
from nivesh_ml.data.synthetic.accounts import ACCOUNT_TYPES
from nivesh_ml.data.synthetic.merchants import ANOMALY_TYPES, CATEGORIES, CHANNELS, DIRECTIONS
from nivesh_ml.data.synthetic.scenarios import EXTRA_ANOMALY_TYPES, EXTRA_CATEGORIES
from nivesh_ml.errors import SchemaError

__all__ = ["ACCOUNTS", "CREDIT_LABELS", "SCHEMAS", "TRANSACTIONS", "USERS", "validate"]

# Text columns are checked by content (patterns, lengths), not dtype: object, string[python] and
# string[pyarrow] all pass, and checking each value's type would cost seconds on millions of rows.
_TEXT = None
_MAX_GROUPS = 4
_MAX_EXAMPLES = 3


def _isin(values: tuple[str, ...] | list[str] | tuple[int, ...]) -> pa.Check:
    return pa.Check.isin(list(values))


def _paise(series: pd.Series) -> pd.Series:
    """True where a rupee amount has at most two decimals (paise)."""
    cents = series * 100
    return (cents - np.round(cents)).abs() < 1e-6


def _city_tiers(frame: pd.DataFrame) -> pd.Series:
    tiers = {c.name: c.tier for c in catalog.CITIES}
    return frame["city"].astype(object).map(tiers) == frame["city_tier"]


def _account_terms(frame: pd.DataFrame) -> pd.Series:
    """Cards and only cards have a limit; loans and only loans have an amount and an EMI."""
    kind = frame["account_type"].astype(object)
    is_card = kind == "credit_card"
    is_loan = kind.str.endswith("_loan")
    return (
        (frame["credit_limit"].notna() == is_card)
        & (frame["loan_amount"].notna() == is_loan)
        & (frame["emi_amount"].notna() == is_loan)
    )


def _anomaly_label(frame: pd.DataFrame) -> pd.Series:
    return frame["is_anomaly"] == (frame["anomaly_type"] != "")


USERS = pa.DataFrameSchema(
    {
        "user_id": pa.Column(_TEXT, pa.Check.str_matches(r"^U\d{7,}$"), unique=True),
        "age": pa.Column("int16", pa.Check.in_range(21, 70)),
        "gender": pa.Column("category", _isin(catalog.GENDERS)),
        "city": pa.Column("category", _isin([c.name for c in catalog.CITIES])),
        "city_tier": pa.Column("int8", _isin((1, 2, 3))),
        "occupation": pa.Column("category", _isin([o.name for o in catalog.OCCUPATIONS])),
        "income_band": pa.Column("category", _isin(catalog.INCOME_BANDS)),
        "monthly_income": pa.Column(float, pa.Check.gt(0)),
        "payday": pa.Column("int8", pa.Check.in_range(0, 31)),
        "signup_date": pa.Column("datetime64[ns]"),
    },
    checks=pa.Check(_city_tiers, error="city_tier matches the city"),
    strict=True,
    name="users",
)

ACCOUNTS = pa.DataFrameSchema(
    {
        "account_id": pa.Column(_TEXT, pa.Check.str_matches(r"^A\d{8,}$"), unique=True),
        "user_id": pa.Column(_TEXT, pa.Check.str_matches(r"^U\d{7,}$")),
        "bank": pa.Column("category", _isin([b.name for b in catalog.BANKS])),
        "account_type": pa.Column("category", _isin(ACCOUNT_TYPES)),
        "masked_number": pa.Column(_TEXT, pa.Check.str_matches(r"^XXXX\d{4}$")),
        "opened_date": pa.Column("datetime64[ns]"),
        "credit_limit": pa.Column(float, pa.Check.gt(0), nullable=True),
        "loan_amount": pa.Column(float, pa.Check.gt(0), nullable=True),
        "emi_amount": pa.Column(float, pa.Check.gt(0), nullable=True),
        "interest_rate": pa.Column(float, pa.Check.in_range(0, 48)),
    },
    checks=pa.Check(_account_terms, error="limits on cards only, amounts and EMIs on loans only"),
    strict=True,
    name="accounts",
)

TRANSACTIONS = pa.DataFrameSchema(
    {
        "txn_id": pa.Column(_TEXT, pa.Check.str_matches(r"^T\d{10,}$")),
        "user_id": pa.Column(_TEXT, pa.Check.str_matches(r"^U\d{7,}$")),
        "account_id": pa.Column(_TEXT, pa.Check.str_matches(r"^A\d{8,}$")),
        "timestamp": pa.Column("datetime64[ns]"),
        "amount": pa.Column(
            float, [pa.Check.gt(0), pa.Check(np.isfinite, error="finite"), pa.Check(_paise, error="paise")]
        ),
        "direction": pa.Column("category", _isin(DIRECTIONS)),
        # scenarios may add a category and an anomaly type (``new-merchants``, ``fraud-wave``): a
        # change of the world the platform must notice (drift), not a broken contract
        "category": pa.Column("category", _isin((*CATEGORIES, *EXTRA_CATEGORIES))),
        "merchant": pa.Column("category"),
        "channel": pa.Column("category", _isin(CHANNELS)),
        "description": pa.Column(_TEXT, pa.Check.str_length(min_value=1)),
        "balance_after": pa.Column(float, nullable=True),
        "is_anomaly": pa.Column(bool),
        "anomaly_type": pa.Column("category", _isin((*ANOMALY_TYPES, *EXTRA_ANOMALY_TYPES))),
    },
    checks=pa.Check(_anomaly_label, error="is_anomaly is set exactly when anomaly_type is"),
    strict=True,
    name="transactions",
)

CREDIT_LABELS = pa.DataFrameSchema(
    {
        "user_id": pa.Column(_TEXT, pa.Check.str_matches(r"^U\d{7,}$"), unique=True),
        "as_of": pa.Column("datetime64[ns]"),
        "default_12m": pa.Column(bool),
        "latent_risk": pa.Column(float, pa.Check(np.isfinite, error="finite")),
    },
    strict=True,
    name="credit_labels",
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "users": USERS,
    "accounts": ACCOUNTS,
    "transactions": TRANSACTIONS,
    "credit_labels": CREDIT_LABELS,
}


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> pd.DataFrame:
    """Check ``frame`` against ``schema``; return it, or raise SchemaError with a one-line summary."""
    try:
        validated: pd.DataFrame = schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        raise SchemaError(f"{schema.name}: {_summary(exc.failure_cases)}") from None
    except PanderaSchemaError as exc:
        raise SchemaError(f"{schema.name}: {_one_line(str(exc))}") from None
    return validated


def _summary(cases: pd.DataFrame) -> str:
    """``column: check failed for N row(s), e.g. a, b, c`` for the first few failing (column, check) pairs.

    A frame-wide check is reported once per row, with the failing row numbers as its examples;
    a missing or unexpected column by name.
    """
    frame_wide = (cases["schema_context"] == "DataFrameSchema") & cases["index"].notna()
    structural = cases["check"].isin(list(_CHECK_NAMES))
    cases = cases.assign(
        where=cases["column"].where(~frame_wide & ~structural & cases["column"].notna(), "frame"),
        check=cases["check"].map(_check_name),
        example=cases["failure_case"].map(_show).where(~frame_wide, "row " + cases["index"].astype(str)),
    )
    cases = cases[~(frame_wide & cases.duplicated(subset=["check", "example"]))]
    parts: list[str] = []
    groups = cases.groupby(["where", "check"], sort=False)
    for (where, check), group in groups:
        examples = ", ".join(group["example"].head(_MAX_EXAMPLES))
        if check in _CHECK_NAMES.values():
            parts.append(f"{check} {examples}")
        else:
            parts.append(f"{where}: {check} failed for {len(group)} row(s), e.g. {examples}")
    more = f" (and {groups.ngroups - _MAX_GROUPS} more)" if groups.ngroups > _MAX_GROUPS else ""
    return _one_line("; ".join(parts[:_MAX_GROUPS]) + more)


_CHECK_NAMES = {"column_in_dataframe": "missing column", "column_in_schema": "unexpected column"}


def _check_name(check: Any) -> str:
    """A short name for a check: structural checks in words, long value lists elided."""
    text = str(check)
    text = _CHECK_NAMES.get(text, text)
    return re.sub(r"^isin\(\[.{40,}\]\)$", "isin(allowed values)", text)


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line(text: str) -> str:
    return " ".join(text.split())
