"""Reason codes from the booster's own contributions: plain language, and only what raised the score."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from nivesh_ml.models.credit_risk.reasons import contributions, reason_text, reasons_from_contributions
from nivesh_ml.models.credit_risk.schema import NIVESH_SCHEMA


def population(n: int, seed: int) -> pd.DataFrame:
    """Applicants whose risk rises with utilisation and recent late payments, nothing else."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({spec.name: np.zeros(n) for spec in NIVESH_SCHEMA.features})
    frame["history_months"], frame["n_accounts"], frame["tenure_months"] = 6, 2, 24
    frame["monthly_income"] = rng.lognormal(10.8, 0.4, n)
    frame["total_credit_limit"] = 100_000.0
    frame["credit_utilisation"] = rng.uniform(0, 1, n)
    frame["late_payments_6m"] = rng.poisson(0.4, n)
    frame["late_payments_12m"] = frame["late_payments_6m"] + rng.poisson(0.2, n)
    frame["has_salary_account"] = True
    return frame


@pytest.fixture(scope="module")
def booster() -> xgb.Booster:
    frame = population(3_000, seed=0)
    logit = -3 + 4 * frame["credit_utilisation"] + 0.9 * frame["late_payments_6m"]
    y = (np.random.default_rng(1).random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)
    x = NIVESH_SCHEMA.encode(NIVESH_SCHEMA.validate_frame(frame))
    data = xgb.DMatrix(x, label=y, feature_names=NIVESH_SCHEMA.encoded_names)
    constraints = "(" + ",".join(map(str, NIVESH_SCHEMA.monotone_constraints)) + ")"
    params = {
        "objective": "binary:logistic",
        "max_depth": 3,
        "eta": 0.1,
        "nthread": 1,
        "monotone_constraints": constraints,
    }
    return xgb.train(params, data, num_boost_round=80)


def reasons_of(booster: xgb.Booster, **changes: float) -> list:  # type: ignore[type-arg]
    row = (
        population(1, seed=2).iloc[0].to_dict()
        | {"credit_utilisation": 0.05, "late_payments_6m": 0}
        | changes
    )
    row["late_payments_12m"] = max(row["late_payments_12m"], row["late_payments_6m"])
    matrix, values = NIVESH_SCHEMA.validate_row(row)
    return reasons_from_contributions(NIVESH_SCHEMA, contributions(booster, matrix)[0], values, limit=4)


def test_high_utilisation_is_the_reason(booster: xgb.Booster) -> None:
    texts = [reason.text for reason in reasons_of(booster, credit_utilisation=0.92)]
    assert texts[0] == "credit utilisation above 80%"


def test_late_payments_are_counted_in_their_window(booster: xgb.Booster) -> None:
    texts = [reason.text for reason in reasons_of(booster, late_payments_6m=3)]
    assert "3 late payments in the last 6 months" in texts


def test_one_family_gives_one_reason(booster: xgb.Booster) -> None:
    found = reasons_of(booster, late_payments_6m=3, late_payments_12m=5, credit_utilisation=0.92)
    assert sum("late payment" in reason.text for reason in found) == 1


def test_only_factors_that_raise_risk_are_reasons(booster: xgb.Booster) -> None:
    for found in (reasons_of(booster), reasons_of(booster, credit_utilisation=0.92, late_payments_6m=2)):
        assert all(reason.contribution > 0 for reason in found)
    assert not any("utilisation" in reason.text for reason in reasons_of(booster, credit_utilisation=0.01))


def test_contributions_add_up_to_the_margin(booster: xgb.Booster) -> None:
    matrix = NIVESH_SCHEMA.encode(NIVESH_SCHEMA.validate_frame(population(5, seed=3)))
    margin = booster.inplace_predict(matrix, predict_type="margin")
    np.testing.assert_allclose(contributions(booster, matrix).sum(axis=1), margin, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("feature", "value", "text"),
    [
        ("credit_utilisation", 0.85, "credit utilisation above 80%"),
        ("credit_utilisation", 0.55, "credit utilisation above 50%"),
        ("credit_utilisation", math.nan, "no credit card to show a repayment record"),
        ("late_payments_6m", 1, "1 late payment in the last 6 months"),
        ("late_payments_3m", 0, None),
        ("overdraft_days_3m", 12, "account overdrawn on 12 days in the last 3 months"),
        ("debt_to_income", 0.45, "EMIs take 45% of monthly income"),
        ("savings_rate", -0.2, "spending exceeds income"),
        ("monthly_income", 0.0, "no regular income detected"),
        ("has_salary_account", 1.0, None),
    ],
)
def test_plain_language(feature: str, value: float, text: str | None) -> None:
    assert reason_text(NIVESH_SCHEMA.spec(feature), value) == text
