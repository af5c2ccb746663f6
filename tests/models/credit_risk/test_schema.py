"""The credit-risk input schema: one declaration, validated on every call, errors naming the feature."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.errors import SchemaError
from nivesh_ml.features.definitions import get_view
from nivesh_ml.models.credit_risk.schema import NIVESH_SCHEMA, Clipped, FeatureSchema, FeatureSpec


def applicant(**changes: Any) -> dict[str, Any]:
    """A plausible Nivesh applicant's features, with ``changes`` applied."""
    row: dict[str, Any] = {
        "history_months": 6,
        "monthly_income": 52_000.0,
        "income_volatility": 0.08,
        "avg_monthly_spend": 41_000.0,
        "savings_rate": 0.21,
        "balance_mean_90d": 84_000.0,
        "balance_min_90d": 12_000.0,
        "balance_std_90d": 15_000.0,
        "avg_monthly_emi": 6_000.0,
        "debt_to_income": 0.115,
        "avg_monthly_card_spend": 9_000.0,
        "total_credit_limit": 150_000.0,
        "credit_utilisation": 0.06,
        "late_payments_3m": 0,
        "late_payments_6m": 0,
        "late_payments_12m": 1,
        "overdraft_days_3m": 0,
        "overdraft_days_6m": 0,
        "overdraft_days_12m": 0,
        "n_accounts": 3,
        "n_savings_accounts": 1,
        "n_current_accounts": 0,
        "n_credit_cards": 1,
        "n_loans": 1,
        "tenure_months": 20,
        "has_salary_account": True,
    }
    return row | changes


def test_the_schema_is_the_profile_view_in_its_order() -> None:
    assert NIVESH_SCHEMA.names == get_view("user_financial_profile").columns


def test_protected_attributes_are_not_inputs() -> None:
    assert not {"age", "age_band", "gender", "sex", "city", "city_tier"} & set(NIVESH_SCHEMA.names)


def test_domain_knowledge_sets_the_monotone_directions() -> None:
    direction = {spec.name: spec.monotone for spec in NIVESH_SCHEMA.features}
    rising = [name for name in direction if name.startswith(("late_payments_", "overdraft_days_"))]
    assert all(direction[name] == 1 for name in [*rising, "credit_utilisation", "debt_to_income"])
    assert all(direction[name] == -1 for name in ["monthly_income", "savings_rate"])


def test_a_valid_row_becomes_one_row_of_the_matrix() -> None:
    matrix, values = NIVESH_SCHEMA.validate_row(applicant())
    assert matrix.shape == (1, 26)
    assert matrix[0, NIVESH_SCHEMA.names.index("has_salary_account")] == 1.0
    assert values[NIVESH_SCHEMA.names.index("late_payments_12m")] == 1.0


def test_missing_is_allowed_where_the_view_defines_it() -> None:
    matrix, _ = NIVESH_SCHEMA.validate_row(applicant(credit_utilisation=None, debt_to_income=math.nan))
    assert np.isnan(matrix[0, NIVESH_SCHEMA.names.index("credit_utilisation")])


@pytest.mark.parametrize(
    ("changes", "feature", "problem"),
    [
        ({"late_payments_6m": None}, "late_payments_6m", "missing"),
        ({"monthly_income": "lots"}, "monthly_income", "must be a number"),
        ({"monthly_income": True}, "monthly_income", "must be a number"),
        ({"late_payments_3m": -1}, "late_payments_3m", "must be in"),
        ({"late_payments_3m": 1.5}, "late_payments_3m", "whole number"),
        ({"credit_utilisation": -0.1}, "credit_utilisation", "must be in"),
        ({"savings_rate": 2.0}, "savings_rate", "must be in"),
        ({"overdraft_days_3m": 93}, "overdraft_days_3m", "must be in"),
        ({"has_salary_account": "yes"}, "has_salary_account", "true or false"),
    ],
)
def test_a_bad_value_is_refused_naming_the_feature(
    changes: dict[str, Any], feature: str, problem: str
) -> None:
    with pytest.raises(SchemaError, match=f"{feature}.*{problem}"):
        NIVESH_SCHEMA.validate_row(applicant(**changes))


def test_stored_values_out_of_range_are_clipped_to_the_bound_and_reported() -> None:
    row = applicant(overdraft_days_3m=93, savings_rate=-1.5, balance_std_90d=None, n_loans="two")
    clipped_row, clipped = NIVESH_SCHEMA.clip_row(row)
    assert clipped == [
        Clipped("savings_rate", -1.5, -1.0),
        Clipped("overdraft_days_3m", 93.0, 92.0),
    ]
    assert (clipped_row["overdraft_days_3m"], clipped_row["savings_rate"]) == (92.0, -1.0)
    assert row["overdraft_days_3m"] == 93  # the caller's row is left as it was
    # what is not a number out of range is left for validation to refuse, naming the feature
    assert (clipped_row["balance_std_90d"], clipped_row["n_loans"]) == (None, "two")
    assert NIVESH_SCHEMA.clip_row(applicant()) == (applicant(), [])
    assert Clipped("x", 93.0, 92.0).to_dict() == {"feature": "x", "value": 93.0, "used": 92.0}


def test_an_absent_feature_is_refused_by_name() -> None:
    row = applicant()
    del row["n_loans"]
    with pytest.raises(SchemaError, match="'n_loans' is missing"):
        NIVESH_SCHEMA.validate_row(row)


def test_an_unknown_feature_is_refused_by_name() -> None:
    with pytest.raises(SchemaError, match=r"unknown feature.*credit_utilization"):
        NIVESH_SCHEMA.validate_row(applicant(credit_utilization=0.5))


def test_a_frame_error_names_the_feature_and_the_row() -> None:
    frame = pd.DataFrame([applicant() for _ in range(5)])
    frame.loc[3, "late_payments_6m"] = -2
    with pytest.raises(SchemaError, match=r"late_payments_6m.*row 3"):
        NIVESH_SCHEMA.validate_frame(frame)


def test_a_frame_of_booleans_for_a_number_is_refused() -> None:
    frame = pd.DataFrame([applicant(), applicant()]).assign(monthly_income=[True, False])
    with pytest.raises(SchemaError, match="monthly_income' must be a number"):
        NIVESH_SCHEMA.validate_frame(frame)


def test_a_frame_without_a_feature_column_is_refused() -> None:
    frame = pd.DataFrame([applicant()]).drop(columns=["tenure_months"])
    with pytest.raises(SchemaError, match="tenure_months"):
        NIVESH_SCHEMA.validate_frame(frame)


def test_a_frame_encodes_like_its_rows() -> None:
    rows = [applicant(), applicant(credit_utilisation=None, has_salary_account=False)]
    checked = NIVESH_SCHEMA.validate_frame(pd.DataFrame(rows))
    encoded = NIVESH_SCHEMA.encode(checked)
    for position, row in enumerate(rows):
        np.testing.assert_array_equal(encoded[position], NIVESH_SCHEMA.validate_row(row)[0][0])


def test_the_schema_survives_its_artefact() -> None:
    restored = FeatureSchema.from_dict(NIVESH_SCHEMA.to_dict())
    assert restored.features == NIVESH_SCHEMA.features


def test_categories_are_one_hot_and_checked() -> None:
    schema = FeatureSchema(
        "toy",
        [
            FeatureSpec("housing", "category", "housing", categories=("own", "rent")),
            FeatureSpec("n", "count", "n", 0, 9),
        ],
    )
    assert schema.encoded_names == ["housing=own", "housing=rent", "n"]
    assert schema.monotone_constraints == (0, 0, 0)
    np.testing.assert_array_equal(schema.validate_row({"housing": "rent", "n": 2})[0], [[0.0, 1.0, 2.0]])
    with pytest.raises(SchemaError, match=r"housing.*own, rent"):
        schema.validate_row({"housing": "castle", "n": 2})
    frame = pd.DataFrame({"housing": ["own", "castle"], "n": [1, 2]})
    with pytest.raises(SchemaError, match=r"housing.*row 1"):
        schema.validate_frame(frame)
