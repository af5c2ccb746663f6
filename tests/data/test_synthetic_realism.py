"""Checks of the synthetic data itself: aggregates within the documented ranges, and a credit signal.

The ranges are the ones :mod:`nivesh_ml.data.synthetic.rates` documents (and the README quotes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nivesh_ml.data.synthetic import ANOMALY_TYPES, GeneratorConfig, SyntheticData, generate, rates

INTERNAL = ["credit_card_payment", "self_transfer"]  # money moved between the user's own accounts
PENALTIES = ["Late Payment Fee", "NACH Return Charges", "Cheque Return Charges", "Min Balance Charges"]


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(GeneratorConfig(users=500, months=6, seed=42))


@pytest.fixture(scope="module")
def year() -> SyntheticData:
    """A full year, so every calendar month (festive season included) is there once."""
    return generate(GeneratorConfig(users=500, months=12, seed=42))


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value <= bounds[1]


def test_transactions_per_user_month(data: SyntheticData) -> None:
    per_user_month = len(data.transactions) / (500 * 6)
    assert _within(per_user_month, rates.TRANSACTIONS_PER_USER_MONTH)


def test_salary_share_of_credited_amount(data: SyntheticData) -> None:
    tx = data.transactions
    credits = tx[(tx["direction"] == "credit") & ~tx["category"].isin(INTERNAL)]
    share = credits.loc[credits["category"] == "salary", "amount"].sum() / credits["amount"].sum()
    assert _within(share, rates.SALARY_SHARE_OF_CREDITS)


@pytest.mark.parametrize("category", list(rates.DEBIT_COUNT_SHARES))
def test_debit_count_share_by_category(data: SyntheticData, category: str) -> None:
    debits = data.transactions.loc[data.transactions["direction"] == "debit", "category"]
    share = float((debits == category).mean())
    assert _within(share, rates.DEBIT_COUNT_SHARES[category]), f"{category}: {share:.4f}"


@pytest.mark.parametrize("category", list(rates.DEBIT_AMOUNT_SHARES))
def test_debit_amount_share_by_category(data: SyntheticData, category: str) -> None:
    debits = data.transactions[data.transactions["direction"] == "debit"]
    share = debits.loc[debits["category"] == category, "amount"].sum() / debits["amount"].sum()
    assert _within(share, rates.DEBIT_AMOUNT_SHARES[category]), f"{category}: {share:.4f}"


def test_upi_is_the_top_channel_by_count(data: SyntheticData) -> None:
    counts = data.transactions["channel"].value_counts(normalize=True)
    assert counts.index[0] == "UPI"
    assert _within(float(counts["UPI"]), rates.UPI_SHARE_OF_ROWS)


def test_food_delivery_is_busier_on_weekends(data: SyntheticData) -> None:
    tx = data.transactions
    weekday = tx.loc[tx["category"] == "food_delivery", "timestamp"].dt.dayofweek
    per_weekend_day = (weekday >= 5).sum() / 2
    per_weekday = (weekday < 5).sum() / 5
    assert per_weekend_day / per_weekday >= rates.WEEKEND_FOOD_DELIVERY_MIN


def test_festive_months_carry_more_shopping(year: SyntheticData) -> None:
    tx = year.transactions
    shopping = tx[(tx["category"] == "shopping") & (tx["direction"] == "debit") & ~tx["is_anomaly"]]
    by_month = shopping.groupby(shopping["timestamp"].dt.month)["amount"].sum()
    assert len(by_month) == 12
    assert by_month[[10, 11]].mean() / by_month.mean() >= rates.FESTIVE_SHOPPING_MIN


def test_few_transactions_between_one_and_five_am(data: SyntheticData) -> None:
    hours = data.transactions["timestamp"].dt.hour
    assert hours.between(1, 4).mean() < 0.02
    delivery = data.transactions.loc[data.transactions["category"] == "food_delivery", "timestamp"].dt.hour
    peaks = delivery.value_counts(normalize=True)
    assert peaks[[12, 13, 19, 20, 21]].sum() > 0.4


def test_anomaly_rate_and_every_type(data: SyntheticData) -> None:
    tx = data.transactions
    assert _within(float(tx["is_anomaly"].mean()), rates.ANOMALY_RATE_RANGE)
    assert set(tx.loc[tx["is_anomaly"], "anomaly_type"]) == set(ANOMALY_TYPES) - {""}


def test_default_base_rate() -> None:
    # Labels depend on users only: many users, one month, keeps the sampling noise small.
    labels = generate(GeneratorConfig(users=6_000, months=1, seed=42)).credit_labels
    assert _within(float(labels["default_12m"].mean()), rates.DEFAULT_RATE_RANGE)


def _last_working_day(stamp: pd.Series) -> pd.Series:
    month_end = stamp.dt.normalize() + pd.offsets.MonthEnd(0)
    back = month_end.dt.dayofweek.map({5: 1, 6: 2}).fillna(0).astype(int)
    return month_end.dt.day - back


def test_salaries_land_on_payday(data: SyntheticData) -> None:
    tx, users = data.transactions, data.users.set_index("user_id")
    salary = tx[(tx["category"] == "salary") & (tx["direction"] == "credit")]
    payday = salary["user_id"].map(users["payday"])
    regular = salary[payday > 0]
    payday = payday[payday > 0]
    expected = np.where(
        payday == 31,
        _last_working_day(regular["timestamp"]),
        np.minimum(payday, regular["timestamp"].dt.days_in_month),
    )
    assert len(regular) > 500
    assert (regular["timestamp"].dt.day.to_numpy() == expected).all()


def _per_user(values: pd.Series, users: pd.Series, missing: float = 0.0) -> pd.Series:
    return values.reindex(users).fillna(missing)


def _monthly_income(tx: pd.DataFrame) -> pd.DataFrame:
    income = tx[(tx["direction"] == "credit") & tx["category"].isin(["salary", "business_income", "pension"])]
    month = income["timestamp"].dt.to_period("M")
    return income.groupby(["user_id", month])["amount"].sum().unstack(fill_value=0)


def _utilisation(tx: pd.DataFrame, accounts: pd.DataFrame) -> pd.Series:
    """What each user owes on their cards at the end, over their total limit."""
    cards = accounts[accounts["account_type"] == "credit_card"]
    on_card = tx[tx["account_id"].isin(cards["account_id"])]
    owed = on_card["amount"].where(on_card["direction"] == "debit", -on_card["amount"])
    return owed.groupby(on_card["user_id"]).sum() / cards.groupby("user_id")["credit_limit"].sum()


def _behaviour(data: SyntheticData) -> pd.DataFrame:
    """Per-user features a lender could compute from the statements and the accounts."""
    tx, users = data.transactions, data.users["user_id"]
    fees = tx[tx["merchant"].isin(PENALTIES)]
    overdrawn = tx[tx["balance_after"] < 0]
    monthly = _monthly_income(tx)
    mean_income = _per_user(monthly.mean(axis=1), users).clip(lower=1_000)
    emi = _per_user(tx[tx["category"] == "emi"].groupby("user_id")["amount"].sum(), users)
    features = pd.DataFrame(
        {
            "late_fees": np.log1p(_per_user(fees.groupby("user_id").size(), users)),
            "overdraft_days": np.log1p(
                _per_user(
                    overdrawn.groupby("user_id")["timestamp"].apply(lambda s: s.dt.date.nunique()), users
                )
            ),
            "income_volatility": _per_user(
                monthly.std(axis=1) / monthly.mean(axis=1).clip(lower=1), users, 1.0
            ),
            "emi_to_income": emi / data.config.months / mean_income,
            "utilisation": _per_user(_utilisation(tx, data.accounts), users),
        }
    )
    return features.reset_index(drop=True)


@pytest.fixture(scope="module")
def credit_sample() -> tuple[pd.DataFrame, np.ndarray, SyntheticData]:
    data = generate(GeneratorConfig(users=2_000, months=12, seed=42))
    return _behaviour(data), data.credit_labels["default_12m"].to_numpy(), data


def test_behaviour_predicts_default(credit_sample: tuple[pd.DataFrame, np.ndarray, SyntheticData]) -> None:
    features, label, _ = credit_sample
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    auc = cross_val_score(model, features, label, cv=folds, scoring="roc_auc").mean()
    assert auc > 0.7


def test_no_single_column_is_the_label(credit_sample: tuple[pd.DataFrame, np.ndarray, SyntheticData]) -> None:
    features, label, data = credit_sample
    for column in features:
        assert roc_auc_score(label, features[column]) < 0.9, column
    risk = data.credit_labels["latent_risk"].to_numpy()
    # Even the latent risk, thresholded anywhere, does not reproduce the label.
    best = max(((risk > t) == label).mean() for t in np.quantile(risk, np.linspace(0.5, 0.99, 50)))
    assert best < 0.97
    assert 0.75 < roc_auc_score(label, risk) < 0.97
