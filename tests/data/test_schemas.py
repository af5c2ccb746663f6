"""The declared schemas: generated frames pass them, broken frames fail with a clear one-line message."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from nivesh_ml.data.schemas import ACCOUNTS, CREDIT_LABELS, SCHEMAS, TRANSACTIONS, USERS, validate
from nivesh_ml.data.synthetic import GeneratorConfig, SyntheticData, generate
from nivesh_ml.errors import DataError, SchemaError


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(GeneratorConfig(users=150, months=2, seed=5))


def _fails(frame: pd.DataFrame, schema: pa.DataFrameSchema, *fragments: str) -> str:
    with pytest.raises(SchemaError) as info:
        validate(frame, schema)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


@pytest.mark.parametrize("name", ["users", "accounts", "transactions", "credit_labels"])
def test_every_generated_frame_passes_its_schema(data: SyntheticData, name: str) -> None:
    frame = getattr(data, name)
    assert validate(frame, SCHEMAS[name]) is not None


def test_schema_error_is_a_data_error() -> None:
    assert issubclass(SchemaError, DataError)


def test_a_negative_amount_fails(data: SyntheticData) -> None:
    tx = data.transactions.copy()
    tx.loc[3, "amount"] = -5.0
    _fails(tx, TRANSACTIONS, "transactions:", "amount", "greater_than(0)", "-5.0")


def test_an_unknown_category_fails(data: SyntheticData) -> None:
    tx = data.transactions.copy()
    tx["category"] = tx["category"].cat.add_categories(["crypto"])
    tx.loc[0, "category"] = "crypto"
    _fails(tx, TRANSACTIONS, "category", "isin", "'crypto'", "1 row(s)")


def test_amounts_with_fractions_of_a_paisa_fail(data: SyntheticData) -> None:
    tx = data.transactions.copy()
    tx.loc[1, "amount"] = 10.001
    _fails(tx, TRANSACTIONS, "amount", "paise")


def test_a_missing_and_an_extra_column_fail(data: SyntheticData) -> None:
    tx = data.transactions.drop(columns=["channel"]).assign(note="x")
    _fails(tx, TRANSACTIONS, "channel", "note")


def test_a_label_without_its_type_fails(data: SyntheticData) -> None:
    tx = data.transactions.copy()
    tx.loc[0, "is_anomaly"] = not tx.loc[0, "is_anomaly"]
    _fails(tx, TRANSACTIONS, "is_anomaly is set exactly when anomaly_type is")


def test_bad_ids_and_a_wrong_tier_fail(data: SyntheticData) -> None:
    users = data.users.copy()
    users["user_id"] = users["user_id"].astype(object)
    users.loc[0, "user_id"] = "user-1"
    users.loc[1, "city_tier"] = 3 if users.loc[1, "city_tier"] != 3 else 1
    _fails(users, USERS, "user_id", "str_matches", "city_tier matches the city")


def test_duplicate_user_ids_fail(data: SyntheticData) -> None:
    labels = pd.concat([data.credit_labels, data.credit_labels.head(1)], ignore_index=True)
    _fails(labels, CREDIT_LABELS, "user_id", "field_uniqueness")


def test_a_loan_with_a_credit_limit_fails(data: SyntheticData) -> None:
    accounts = data.accounts.copy()
    loan = accounts.index[accounts["account_type"].astype(str).str.endswith("_loan")][0]
    accounts.loc[loan, "credit_limit"] = 50_000.0
    _fails(accounts, ACCOUNTS, "limits on cards only")


def test_many_failures_are_summarised_on_one_line(data: SyntheticData) -> None:
    tx = data.transactions.copy()
    tx["amount"] = -tx["amount"]
    message = _fails(tx, TRANSACTIONS, f"{len(tx)} row(s)")
    assert len(message) < 600
