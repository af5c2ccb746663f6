"""Behaviour of the credit-risk model: directional expectations that must hold for any trained version.

More late payments, more overdraft days, higher utilisation or debt-to-income never lower the
probability of default; higher income, savings or balances never raise it (monotone constraints,
kept through calibration). Protected attributes cannot move a score: they are not inputs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from nivesh_ml.config import OFFLINE_ENV, load_settings
from nivesh_ml.data.nivesh import ensure_synthetic
from nivesh_ml.data.synthetic import GeneratorConfig
from nivesh_ml.errors import SchemaError
from nivesh_ml.models.credit_risk.config import CreditRiskConfig
from nivesh_ml.models.credit_risk.data import CreditData, load_nivesh
from nivesh_ml.models.credit_risk.fitting import fit
from nivesh_ml.models.credit_risk.model import Scorer

RISING = {
    "late_payments_3m": range(0, 8),
    "late_payments_6m": range(0, 12),
    "late_payments_12m": range(0, 20),
    "overdraft_days_3m": range(0, 92, 7),
    "overdraft_days_6m": range(0, 184, 15),
    "overdraft_days_12m": range(0, 366, 30),
    "credit_utilisation": np.linspace(0, 1.2, 13),
    "debt_to_income": np.linspace(0, 1.5, 16),
}
FALLING = {
    "monthly_income": np.linspace(0, 300_000, 16),
    "savings_rate": np.linspace(-1, 1, 21),
    "balance_mean_90d": np.linspace(-50_000, 500_000, 12),
    "balance_min_90d": np.linspace(-50_000, 500_000, 12),
}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Scorer, CreditData]]:
    """A quick model on 1,500 synthetic users x 6 months, fitted without tracking."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            patch.delenv(name)
        for name, value in OFFLINE_ENV.items():
            patch.setenv(name, value)
        settings = load_settings(_env_file=None, home=tmp_path_factory.mktemp("credit-behaviour") / "var")
        ensure_synthetic(settings, GeneratorConfig(users=1_500, months=6, seed=21))
        config = CreditRiskConfig.quick()
        data = load_nivesh(settings, config, 42)
        yield fit(data, config, 42).scorer, data


def applicants(data: CreditData, count: int = 25) -> list[dict[str, Any]]:
    rows = data.test[data.schema.names].head(count)
    return [{name: row[name] for name in data.schema.names} for _, row in rows.iterrows()]


def sweep(scorer: Scorer, applicant: dict[str, Any], feature: str, values: Any) -> np.ndarray:
    return np.array(
        [scorer.score_one(applicant | {feature: value}, with_reasons=False)[0] for value in values]
    )


@pytest.mark.parametrize("feature", sorted(RISING))
def test_more_of_a_bad_sign_never_lowers_the_pd(model: tuple[Scorer, CreditData], feature: str) -> None:
    scorer, data = model
    for applicant in applicants(data):
        assert np.all(np.diff(sweep(scorer, applicant, feature, RISING[feature])) >= -1e-12), feature


@pytest.mark.parametrize("feature", sorted(FALLING))
def test_more_income_or_savings_never_raises_the_pd(model: tuple[Scorer, CreditData], feature: str) -> None:
    scorer, data = model
    for applicant in applicants(data):
        assert np.all(np.diff(sweep(scorer, applicant, feature, FALLING[feature])) <= 1e-12), feature


def test_a_clean_record_never_scores_worse_than_a_troubled_one(model: tuple[Scorer, CreditData]) -> None:
    scorer, data = model
    troubled = {"late_payments_3m": 3, "late_payments_6m": 5, "late_payments_12m": 8, "overdraft_days_3m": 40}
    troubled |= {"overdraft_days_6m": 80, "overdraft_days_12m": 120, "credit_utilisation": 0.95}
    clean = dict.fromkeys(troubled, 0) | {"credit_utilisation": 0.02}
    for applicant in applicants(data):
        bad = scorer.score_one(applicant | troubled)
        good = scorer.score_one(applicant | clean)
        assert bad[0] >= good[0]
        assert bad[1] >= good[1]  # bands run from A (best) to E


def test_protected_attributes_are_not_inputs(model: tuple[Scorer, CreditData]) -> None:
    scorer, data = model
    applicant = applicants(data, 1)[0]
    for attribute, value in (("age", 24), ("gender", "F"), ("city_tier", 3)):
        with pytest.raises(SchemaError, match=f"unknown feature.*{attribute}"):
            scorer.score_one(applicant | {attribute: value})


def test_defaulters_score_higher_than_repayers_on_average(model: tuple[Scorer, CreditData]) -> None:
    scorer, data = model
    probabilities = scorer.probabilities(data.test)
    y = data.y(data.test)
    assert probabilities[y == 1].mean() > probabilities[y == 0].mean()
