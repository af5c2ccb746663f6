"""The feature builders: schemas, no leakage past as_of, hand-computed values, behaviour on synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.data.synthetic import GeneratorConfig, SyntheticData, generate
from nivesh_ml.errors import FeatureStoreError
from nivesh_ml.features.builders import SourceFrames, build_view, build_views
from nivesh_ml.features.definitions import (
    FEATURE_VIEWS,
    PANDAS_DTYPES,
    PROFILE_WINDOWS_MONTHS,
    SPEND_CATEGORIES,
    Feature,
    FeatureView,
    get_view,
    window_days,
)
from nivesh_ml.models.credit_risk.schema import NIVESH_SCHEMA

AS_OF = pd.Timestamp("2026-03-01 00:00:00")
SYNTH_AS_OF = pd.Timestamp("2026-09-01 00:00:00")
PROFILE, SPENDING, STATS = (
    get_view(name) for name in ("user_financial_profile", "spending_patterns", "transaction_stats")
)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic() -> SyntheticData:
    """300 users x 6 months (May-Oct 2026)."""
    return generate(GeneratorConfig(users=300, months=6, seed=1))


@pytest.fixture(scope="module")
def sources(synthetic: SyntheticData) -> SourceFrames:
    return SourceFrames.from_synthetic(synthetic)


@pytest.fixture(scope="module")
def built(sources: SourceFrames) -> dict[str, pd.DataFrame]:
    return {view.name: build_view(view, sources, SYNTH_AS_OF) for view in FEATURE_VIEWS}


def _txn(
    user, account, when, amount, direction, category, merchant, channel="UPI", balance=np.nan, text=None
):
    return {
        "txn_id": f"T{abs(hash((user, when, amount))) % 10**10:010d}",
        "user_id": user,
        "account_id": account,
        "timestamp": pd.Timestamp(when),
        "amount": float(amount),
        "direction": direction,
        "category": category,
        "merchant": merchant,
        "channel": channel,
        "description": text or f"{merchant.upper()}/{category.upper()}",
        "balance_after": float(balance),
        "is_anomaly": False,
        "anomaly_type": "",
    }


@pytest.fixture(scope="module")
def tiny() -> SourceFrames:
    """Four users, hand-made: U1 spends and pays a card late, U2 is overdrawn, U3 signs up after
    AS_OF, U4 has no transactions. Expected values are worked out in the tests.
    """
    users = pd.DataFrame(
        {
            "user_id": ["U1", "U2", "U3", "U4"],
            "signup_date": pd.to_datetime(["2025-06-15", "2024-01-01", "2026-03-05", "2026-02-01"]),
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5", "A6"],
            "user_id": ["U1", "U1", "U2", "U2", "U2", "U3"],
            "account_type": ["savings", "credit_card", "salary", "personal_loan", "current", "savings"],
            "opened_date": pd.to_datetime(
                ["2020-01-01", "2021-01-01", "2019-01-01", "2024-06-01", "2026-04-01", "2026-01-01"]
            ),
            "credit_limit": [np.nan, 50_000.0, np.nan, np.nan, np.nan, np.nan],
            "emi_amount": [np.nan, np.nan, np.nan, 5_000.0, np.nan, np.nan],
        }
    )
    u1 = [
        _txn("U1", "A1", "2025-12-20 10:00", 50_000, "credit", "salary", "Acme Corp", "NEFT/IMPS", 50_000),
        _txn("U1", "A1", "2026-01-10 12:00", 500, "debit", "groceries", "DMart", "UPI", 49_500),
        _txn("U1", "A1", "2026-01-20 10:00", 50_000, "credit", "salary", "Acme Corp", "NEFT/IMPS", 99_500),
        _txn("U1", "A2", "2026-02-05 03:00", 500, "debit", "fees", "Late Payment Fee", "bank", np.nan,
             "LATE PAYMENT FEE/FEB 2026"),
        _txn("U1", "A2", "2026-02-14 20:00", 2_000, "debit", "dining", "Starbucks", "card"),
        _txn("U1", "A1", "2026-02-20 10:00", 50_000, "credit", "salary", "Acme Corp", "NEFT/IMPS", 149_500),
        _txn("U1", "A1", "2026-02-20 18:00", 1_000, "debit", "groceries", "DMart", "UPI", 148_500),
        _txn("U1", "A1", "2026-02-22 09:00", 300, "debit", "groceries", "Blinkit", "UPI", 148_200),
        _txn("U1", "A1", "2026-02-24 09:00", 700, "debit", "p2p_transfer", "Ravi Kumar", "UPI", 147_500),
        _txn("U1", "A1", "2026-02-28 10:00", 4_000, "debit", "shopping", "Amazon", "UPI", 143_500),
        _txn("U1", "A1", "2026-02-28 23:30", 200, "debit", "food_delivery", "Swiggy", "UPI", 143_300),
        # exactly at as_of: too late to count
        _txn("U1", "A1", "2026-03-01 00:00", 99_999, "debit", "shopping", "Amazon", "UPI", 43_301),
    ]  # fmt: skip
    u2 = [
        _txn("U2", "A3", "2025-10-15 08:00", 300, "debit", "fees", "Late Payment Fee", "bank", 1_000,
             "LATE PAYMENT FEE/OCT 2025"),
        _txn("U2", "A3", "2026-02-01 09:00", 30_000, "credit", "salary", "Acme Corp", "NEFT/IMPS", 31_000),
        _txn("U2", "A3", "2026-02-05 06:00", 5_000, "debit", "emi", "SBI Loans", "auto_debit", 26_000),
        _txn("U2", "A3", "2026-02-10 10:00", 28_000, "debit", "rent", "NoBroker Rent Pay", "netbanking",
             -2_000),
        _txn("U2", "A3", "2026-02-12 11:00", 5_000, "credit", "p2p_transfer", "Asha Rao", "UPI", 3_000),
        _txn("U2", "A3", "2026-02-12 15:00", 590, "debit", "fees", "NACH Return Charges", "bank", 2_410,
             "NACH RETURN CHARGES/FEB 2026"),
        _txn("U2", "A3", "2026-02-13 15:00", 20, "debit", "fees", "SMS Alert Charges", "bank", 2_390,
             "SMS ALERT CHARGES/FEB 2026"),
    ]  # fmt: skip
    u3 = [_txn("U3", "A6", "2026-02-10 10:00", 777, "debit", "groceries", "DMart", "UPI", 10_000)]
    transactions = pd.DataFrame(u1 + u2 + u3)
    return SourceFrames(users=users, accounts=accounts, transactions=transactions)


@pytest.fixture(scope="module")
def tiny_built(tiny: SourceFrames) -> dict[str, pd.DataFrame]:
    return {view.name: build_view(view, tiny, AS_OF).set_index("user_id") for view in FEATURE_VIEWS}


# --- schema -------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", FEATURE_VIEWS, ids=lambda view: view.name)
def test_frame_matches_declared_schema(view: FeatureView, built: dict[str, pd.DataFrame], synthetic) -> None:
    frame = built[view.name]
    assert list(frame.columns) == ["user_id", "event_timestamp", *view.columns]
    for feature in view.features:
        assert str(frame[feature.name].dtype) == PANDAS_DTYPES[feature.dtype], feature.name
    assert frame["user_id"].is_unique
    known = synthetic.users.loc[synthetic.users["signup_date"] < SYNTH_AS_OF, "user_id"]
    assert list(frame["user_id"]) == list(known.astype(str))
    assert (frame["event_timestamp"] == SYNTH_AS_OF).all()
    assert str(frame["event_timestamp"].dtype) == "datetime64[ns]"


def test_list_features_are_lists_of_str(built: dict[str, pd.DataFrame]) -> None:
    top = built["spending_patterns"]["top_merchants_90d"]
    known = built["transaction_stats"]["known_merchants_365d"]
    assert all(isinstance(value, list) and len(value) <= 3 for value in top)
    assert all(isinstance(value, list) and len(value) <= 50 for value in known)
    assert all(isinstance(name, str) for value in known for name in value)


def test_build_views_cuts_once_and_agrees(sources: SourceFrames, built: dict[str, pd.DataFrame]) -> None:
    together = build_views(FEATURE_VIEWS, sources, SYNTH_AS_OF)
    assert list(together) == [view.name for view in FEATURE_VIEWS]
    for name, frame in together.items():
        pd.testing.assert_frame_equal(frame, built[name])


def test_unknown_view_has_no_builder(sources: SourceFrames) -> None:
    view = FeatureView("made_up", 1, PROFILE.ttl, "no builder", (Feature("x", "int64", "x"),))
    with pytest.raises(FeatureStoreError, match="no builder"):
        build_view(view, sources, SYNTH_AS_OF)


# --- no leakage ---------------------------------------------------------------------------------


def _planted(sources: SourceFrames, when: pd.Timestamp) -> SourceFrames:
    """The sources plus, for 30 users, a huge debit and credit in every category at ``when``, at a new
    merchant, on their first account; a new user and a new card that appear after AS_OF too.
    """
    users = sources.users["user_id"].astype(str).head(30)
    first_account = sources.accounts.groupby("user_id", observed=True)["account_id"].first()
    rows = [
        _txn(user, str(first_account[user]), when, 9_999_999, direction, category, "Brand New Merchant",
             "card", -9_999_999, "LATE PAYMENT FEE")
        for user in users
        for category in (*SPEND_CATEGORIES, "fees", "salary", "p2p_transfer")
        for direction in ("debit", "credit")
    ]  # fmt: skip
    new_user = sources.users.head(1).assign(user_id="U9999999", signup_date=when)
    new_card = sources.accounts.head(1).assign(
        account_id="A99999999", account_type="credit_card", opened_date=when, credit_limit=1e9
    )
    return SourceFrames(
        users=pd.concat([sources.users, new_user], ignore_index=True),
        accounts=pd.concat([sources.accounts, new_card], ignore_index=True),
        transactions=pd.concat([sources.transactions, pd.DataFrame(rows)], ignore_index=True),
    )


@pytest.mark.parametrize("offset", [pd.Timedelta(0), pd.Timedelta(hours=1), pd.Timedelta(days=40)])
@pytest.mark.parametrize("view", FEATURE_VIEWS, ids=lambda view: view.name)
def test_nothing_at_or_after_as_of_moves_a_feature(
    view: FeatureView, offset: pd.Timedelta, sources: SourceFrames, built: dict[str, pd.DataFrame]
) -> None:
    planted = _planted(sources, SYNTH_AS_OF + offset)
    pd.testing.assert_frame_equal(build_view(view, planted, SYNTH_AS_OF), built[view.name])


@pytest.mark.parametrize("view", FEATURE_VIEWS, ids=lambda view: view.name)
def test_the_same_rows_just_before_as_of_do_move_features(
    view: FeatureView, sources: SourceFrames, built: dict[str, pd.DataFrame]
) -> None:
    planted = _planted(sources, SYNTH_AS_OF - pd.Timedelta(seconds=1))
    moved = build_view(view, planted, SYNTH_AS_OF)
    assert not moved.head(30).equals(built[view.name].head(30))


# --- hand-computed values -----------------------------------------------------------------------


def test_only_users_signed_up_before_as_of(tiny_built: dict[str, pd.DataFrame]) -> None:
    for frame in tiny_built.values():
        assert list(frame.index) == ["U1", "U2", "U4"]
        assert (frame["event_timestamp"] == AS_OF).all()


def test_spend_sums_trends_shares_and_weekend_ratio(tiny_built: dict[str, pd.DataFrame]) -> None:
    u1 = tiny_built["spending_patterns"].loc["U1"]
    assert u1["spend_groceries_30d"] == 1_300  # Feb 20 and Feb 22; Jan 10 is 50 days back
    assert u1["spend_groceries_90d"] == u1["spend_groceries_365d"] == 1_800
    assert u1["spend_dining_30d"] == 2_000  # on the card
    assert u1["spend_shopping_30d"] == 4_000  # the 99,999 at as_of does not count
    # U1 has 71 days of history: the 90-day and 365-day rates are over the same 71 days
    assert u1["spend_trend_groceries"] == pytest.approx(1.0)
    # spend: 500 + 500 (fee) + 2000 + 1000 + 300 + 700 (p2p) + 4000 + 200 = 9200
    # on Saturdays and Sundays: 500 + 2000 + 300 + 4000 + 200 = 7000
    assert u1["spend_share_groceries_365d"] == pytest.approx(1_800 / 9_200)
    assert u1["weekend_spend_ratio_365d"] == pytest.approx(7_000 / 9_200)
    assert u1["top_merchants_90d"] == ["Amazon", "Starbucks", "DMart"]
    u2 = tiny_built["spending_patterns"].loc["U2"]
    assert u2["spend_rent_30d"] == 28_000
    assert u2["spend_emi_30d"] == 5_000


def test_repayment_overdraft_and_utilisation(tiny_built: dict[str, pd.DataFrame]) -> None:
    profile = tiny_built["user_financial_profile"]
    u1, u2 = profile.loc["U1"], profile.loc["U2"]
    assert (u1["late_payments_3m"], u1["late_payments_12m"]) == (1, 1)
    # U2: NACH return on Feb 12 (3m); a card late fee on Oct 15 (6m, 12m); the SMS charge is no late payment
    assert (u2["late_payments_3m"], u2["late_payments_6m"], u2["late_payments_12m"]) == (1, 2, 2)
    assert (u2["overdraft_days_3m"], u2["overdraft_days_12m"]) == (2, 2)  # Feb 10 and 11 end below zero
    assert u1["overdraft_days_12m"] == 0
    # U1: 3 history months (Dec-Feb); card debits 500 + 2000 in Feb
    assert u1["history_months"] == 3
    assert u1["avg_monthly_card_spend"] == pytest.approx(2_500 / 3)
    assert u1["total_credit_limit"] == 50_000
    assert u1["credit_utilisation"] == pytest.approx(2_500 / 3 / 50_000)
    assert np.isnan(u2["credit_utilisation"])


def test_income_spend_balances_and_accounts(tiny_built: dict[str, pd.DataFrame]) -> None:
    profile = tiny_built["user_financial_profile"]
    u1, u2, u4 = profile.loc["U1"], profile.loc["U2"], profile.loc["U4"]
    assert u1["monthly_income"] == 50_000
    assert u1["income_volatility"] == 0
    assert u1["avg_monthly_spend"] == pytest.approx(9_200 / 3)
    assert u1["savings_rate"] == pytest.approx((50_000 - 9_200 / 3) / 50_000)
    assert u1["balance_min_90d"] == 49_500
    # U2 history Oct-Feb (5 months), salary only in Feb: median income 0
    assert u2["history_months"] == 5
    assert u2["monthly_income"] == 0
    assert u2["income_volatility"] == pytest.approx(np.std([30_000, 0, 0, 0, 0], ddof=1) / 6_000)
    assert np.isnan(u2["savings_rate"])
    assert np.isnan(u2["debt_to_income"])
    assert u2["avg_monthly_emi"] == 1_000
    # 90 days from Dec 1: 1000 carried from Oct 15 for 62 days, then the February balances
    days = [1_000] * 62 + [31_000] * 4 + [26_000] * 5 + [-2_000] * 2 + [2_410] + [2_390] * 16
    assert u2["balance_mean_90d"] == pytest.approx(np.mean(days))
    assert u2["balance_std_90d"] == pytest.approx(np.std(days, ddof=1))
    assert u2["balance_min_90d"] == -2_000
    assert (u1["n_accounts"], u1["n_savings_accounts"], u1["n_credit_cards"], u1["has_salary_account"]) == (
        2, 1, 1, False,
    )  # fmt: skip
    assert (u2["n_accounts"], u2["n_loans"], u2["n_current_accounts"], u2["has_salary_account"]) == (
        2,
        1,
        0,
        True,
    )
    assert (u1["tenure_months"], u4["tenure_months"]) == (8, 0)


def test_velocity_hours_channels_and_known_merchants(tiny_built: dict[str, pd.DataFrame]) -> None:
    u1 = tiny_built["transaction_stats"].loc["U1"]
    assert (u1["debit_count_1h"], u1["debit_sum_1h"]) == (1, 200)  # 23:30
    assert (u1["debit_count_24h"], u1["debit_sum_24h"]) == (2, 4_200)  # and 10:00
    assert (u1["debit_count_7d"], u1["debit_sum_7d"]) == (4, 5_200)  # and Feb 22, Feb 24
    assert u1["debit_count_365d"] == 8
    assert u1["channel_share_upi_365d"] == pytest.approx(6 / 8)
    assert u1["channel_share_bank_365d"] == pytest.approx(1 / 8)
    # the bank's 03:00 late fee is not the user's hour
    assert u1["hour_mean_365d"] == pytest.approx((12 + 20 + 18 + 9 + 9 + 10 + 23) / 7)
    assert u1["night_share_365d"] == 0
    assert u1["most_common_hour_365d"] == 9
    assert u1["known_merchants_365d"] == [
        "DMart",
        "Amazon",
        "Blinkit",
        "Late Payment Fee",
        "Starbucks",
        "Swiggy",
    ]
    groceries = [500, 1_000, 300]
    assert u1["debit_amount_mean_groceries_365d"] == pytest.approx(np.mean(groceries))
    assert u1["debit_amount_std_groceries_365d"] == pytest.approx(np.std(groceries, ddof=1))
    amounts = pd.Series([500, 500, 2_000, 1_000, 300, 700, 4_000, 200], dtype=float)
    assert u1["debit_amount_p90_365d"] == pytest.approx(amounts.quantile(0.9))
    assert u1["debit_amount_p50_365d"] == pytest.approx(amounts.median())


def test_a_user_without_transactions_gets_zeros_and_nans(tiny_built: dict[str, pd.DataFrame]) -> None:
    stats, spending, profile = (
        tiny_built[name].loc["U4"]
        for name in ("transaction_stats", "spending_patterns", "user_financial_profile")
    )
    assert stats["debit_count_7d"] == 0
    assert stats["debit_sum_7d"] == 0
    assert np.isnan(stats["debit_amount_mean_365d"])
    assert np.isnan(stats["most_common_hour_365d"])
    assert stats["known_merchants_365d"] == []
    assert spending["top_merchants_90d"] == []
    assert spending["spend_groceries_365d"] == 0
    assert np.isnan(spending["spend_share_groceries_365d"])
    assert profile["late_payments_12m"] == 0
    assert profile["history_months"] == 0
    assert np.isnan(profile["monthly_income"])
    assert np.isnan(profile["balance_mean_90d"])


def test_quantiles_match_pandas(sources: SourceFrames, built: dict[str, pd.DataFrame]) -> None:
    tx = sources.transactions
    year = tx[(tx["timestamp"] < SYNTH_AS_OF) & (tx["direction"] == "debit")]
    expected = year.groupby(year["user_id"].astype(str))["amount"].quantile(0.99)
    stats = built["transaction_stats"].set_index("user_id")
    expected = expected[expected.index.isin(stats.index)]  # users who signed up by as_of
    assert len(expected) > 250
    np.testing.assert_allclose(stats.loc[expected.index, "debit_amount_p99_365d"], expected.to_numpy())


# --- windows hold exactly their days -------------------------------------------------------------


def _always_overdrawn(as_of: pd.Timestamp) -> SourceFrames:
    """One user overdrawn (-1,000) every day since long before ``as_of``; for one day, the day the
    90-day window starts in, -5,000: that day is not in the window unless it starts at midnight.
    """
    users = pd.DataFrame({"user_id": ["U1"], "signup_date": pd.to_datetime(["2020-01-01"])})
    accounts = pd.DataFrame(
        {
            "account_id": ["A1"],
            "user_id": ["U1"],
            "account_type": ["savings"],
            "opened_date": pd.to_datetime(["2020-01-01"]),
            "credit_limit": [np.nan],
            "emi_amount": [np.nan],
        }
    )
    day = (as_of - pd.Timedelta(days=90)).normalize()
    hour = pd.Timedelta(hours=1)
    rows = [
        _txn("U1", "A1", as_of - pd.DateOffset(years=2), 1_000, "debit", "fees", "Bank", "bank", -1_000),
        _txn("U1", "A1", day + 10 * hour, 4_000, "debit", "rent", "Landlord", "UPI", -5_000),
        _txn("U1", "A1", day + 34 * hour, 4_000, "credit", "p2p_transfer", "Asha", "UPI", -1_000),
    ]  # fmt: skip
    return SourceFrames(users=users, accounts=accounts, transactions=pd.DataFrame(rows))


@pytest.mark.parametrize(
    "as_of",
    [
        "2026-08-31 23:59:46",  # a snapshot taken just before midnight: 92, 184 and 365 days
        "2024-08-31 23:59:46",  # the longest windows there are: 92, 184 and 366 days
        "2026-03-01 00:00:00",  # at midnight: 90, 181 and 365 whole days
        "2026-02-14 12:30:00",
    ],
)
def test_a_user_overdrawn_every_day_gets_the_windows_day_count_and_is_scorable(as_of: str) -> None:
    stamp = pd.Timestamp(as_of)
    row = build_view(PROFILE, _always_overdrawn(stamp), stamp).set_index("user_id").loc["U1"]
    for months in PROFILE_WINDOWS_MONTHS:
        days = (stamp - (stamp - pd.DateOffset(months=months))).days
        assert row[f"overdraft_days_{months}m"] == days <= window_days(months), months
    # 90 days: the day the window starts in (at -5,000) counts only when the window starts at midnight
    assert row["balance_min_90d"] == (-5_000 if stamp == stamp.normalize() else -1_000)
    features = {name: row[name] for name in NIVESH_SCHEMA.names}
    NIVESH_SCHEMA.validate_row(features)  # the credit-risk schema accepts it: the user can be scored


def test_window_days_bounds_every_window_the_builders_use() -> None:
    as_of = pd.date_range("2023-01-01", "2026-12-31", freq="D") + pd.Timedelta("23:59:46")
    for months in PROFILE_WINDOWS_MONTHS:
        longest = (as_of - (as_of - pd.DateOffset(months=months))).days.max()
        assert longest == window_days(months)
    assert [window_days(m) for m in (3, 6, 12)] == [92, 184, 366]
    with pytest.raises(FeatureStoreError, match="1 to 12 months"):
        window_days(13)


# --- behaviour on synthetic data ----------------------------------------------------------------


def test_more_late_fees_mean_higher_late_payment_counts(
    sources: SourceFrames, built: dict[str, pd.DataFrame]
) -> None:
    user = str(sources.users["user_id"].iloc[0])
    account = str(sources.accounts.loc[sources.accounts["user_id"] == user, "account_id"].iloc[0])
    fees = [
        _txn(user, account, SYNTH_AS_OF - pd.Timedelta(days=10 * k + 1), 590, "debit", "fees",
             "NACH Return Charges", "bank", 1_000, "NACH RETURN CHARGES")
        for k in range(3)
    ]  # fmt: skip
    more = SourceFrames(
        sources.users,
        sources.accounts,
        pd.concat([sources.transactions, pd.DataFrame(fees)], ignore_index=True),
    )
    before = built["user_financial_profile"].set_index("user_id").loc[user]
    after = build_view(PROFILE, more, SYNTH_AS_OF).set_index("user_id").loc[user]
    for months in (3, 6, 12):
        assert after[f"late_payments_{months}m"] == before[f"late_payments_{months}m"] + 3


def test_risky_users_pay_late_more_often(synthetic: SyntheticData, built: dict[str, pd.DataFrame]) -> None:
    profile = built["user_financial_profile"].merge(
        synthetic.credit_labels.astype({"user_id": object}), on="user_id"
    )
    risky = profile["latent_risk"] > profile["latent_risk"].quantile(0.8)
    assert profile.loc[risky, "late_payments_6m"].mean() > profile.loc[~risky, "late_payments_6m"].mean()


def test_salaried_income_is_steadier_than_gig_income(
    synthetic: SyntheticData, built: dict[str, pd.DataFrame]
) -> None:
    occupation = synthetic.users.set_index(synthetic.users["user_id"].astype(str))["occupation"].astype(str)
    profile = built["user_financial_profile"].set_index("user_id")
    volatility = profile["income_volatility"].groupby(occupation.reindex(profile.index)).mean()
    assert volatility["salaried"] < volatility["gig_worker"]
