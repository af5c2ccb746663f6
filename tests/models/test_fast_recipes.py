"""The `nivesh-ml up` budget (TrainOptions(fast=True)): shorter recipes that keep what the issues require."""

from __future__ import annotations

import pandas as pd

from nivesh_ml.models.anomaly.config import fast_config as anomaly_fast
from nivesh_ml.models.anomaly.train import _sample_users
from nivesh_ml.models.assistant.config import AssistantConfig
from nivesh_ml.models.credit_risk.config import CreditRiskConfig
from nivesh_ml.models.spending.config import fast_config as spending_fast
from nivesh_ml.models.spending.config import nivesh_config


def test_the_fast_spending_backtest_keeps_three_origins_and_both_horizons() -> None:
    fast, full = spending_fast(), nivesh_config()
    assert fast.origins == 3  # the minimum
    assert fast.horizon_months == full.horizon_months
    assert fast.ets_entities < full.ets_entities


def test_the_fast_recipes_are_shorter_than_the_full_ones() -> None:
    assert CreditRiskConfig.fast().trials < CreditRiskConfig().trials
    assert AssistantConfig.fast().steps < AssistantConfig().steps
    assert anomaly_fast().max_users == 4_000


def test_the_anomaly_sample_keeps_whole_users_and_is_seeded() -> None:
    users = pd.DataFrame({"user_id": [f"U{i:07d}" for i in range(10)]})
    accounts = pd.DataFrame({"user_id": users["user_id"].repeat(2).to_numpy(), "account_id": range(20)})
    transactions = pd.DataFrame({"user_id": users["user_id"].repeat(3).to_numpy(), "amount": range(30)})
    config = anomaly_fast().__class__(max_users=4, seed=7)
    kept_users, kept_accounts, kept_transactions = _sample_users(users, accounts, transactions, config)
    assert len(kept_users) == 4
    assert set(kept_accounts["user_id"]) == set(kept_users["user_id"]) == set(kept_transactions["user_id"])
    assert (len(kept_accounts), len(kept_transactions)) == (8, 12)  # every row of a kept user
    again = _sample_users(users, accounts, transactions, config)[0]
    assert again["user_id"].tolist() == kept_users["user_id"].tolist()
    everyone = _sample_users(users, accounts, transactions, anomaly_fast())  # 4,000 > 10 users: all
    assert len(everyone[0]) == 10
