"""Transactions in, feature-builder sources out: files, synthetic data, the Birmingham cards."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nivesh_ml.config import Settings
from nivesh_ml.data.public import BIRMINGHAM
from nivesh_ml.data.synthetic import GeneratorConfig, SyntheticData, generate, write_dataset
from nivesh_ml.errors import DataError, DatasetMissingError
from nivesh_ml.models.common import TrainOptions
from nivesh_ml.models.transactions import (
    backfilled_sources,
    birmingham_folder,
    birmingham_transactions,
    nivesh_data,
    read_transactions,
    sources_from_transactions,
)

TINY = GeneratorConfig(users=20, months=3, seed=7)


@pytest.fixture(scope="module")
def tiny() -> SyntheticData:
    """20 users x 3 months."""
    return generate(TINY)


def test_read_transactions_checks_the_file(tmp_path: Path, tiny: SyntheticData) -> None:
    path = tmp_path / "tx.csv"
    tiny.transactions.head(50).to_csv(path, index=False)
    frame = read_transactions(path)
    assert str(frame["timestamp"].dtype) == "datetime64[ns]"
    (tmp_path / "tx.json").write_text("{}")
    with pytest.raises(DataError, match=r"expected a \.csv or \.parquet"):
        read_transactions(tmp_path / "tx.json")
    with pytest.raises(DataError, match="no such file"):
        read_transactions(tmp_path / "missing.csv")
    tiny.transactions.head(5).drop(columns=["amount"]).to_csv(path, index=False)
    with pytest.raises(DataError, match="missing columns amount"):
        read_transactions(path)


def test_a_plain_file_gets_the_builders_columns(tmp_path: Path, tiny: SyntheticData) -> None:
    path = tmp_path / "tx.parquet"
    columns = ["user_id", "timestamp", "amount", "direction", "category"]
    tiny.transactions[columns].head(20).to_parquet(path)
    frame = read_transactions(path)
    assert (frame["account_id"] == frame["user_id"]).all()
    assert {"merchant", "channel", "description", "balance_after"} <= set(frame.columns)
    path.with_suffix(".csv").write_text("user_id,timestamp,amount,direction,category\nU1,soon,5,debit,fuel\n")
    with pytest.raises(DataError, match="not a date-time"):
        read_transactions(path.with_suffix(".csv"))


def test_sources_inferred_from_transactions(tiny: SyntheticData) -> None:
    head = tiny.transactions.head(500)
    sources = sources_from_transactions(head)
    assert set(sources.users["user_id"]) == set(head["user_id"].astype(str))
    assert set(sources.accounts.columns) >= {"account_id", "user_id", "opened_date"}
    first = head.groupby("user_id", observed=True)["timestamp"].min().dt.floor("D")
    signup = sources.users.set_index("user_id")["signup_date"]
    assert (signup.reindex(first.index.astype(str)).to_numpy() == first.to_numpy()).all()


def test_backfilled_users_are_known_from_their_first_transaction(tiny: SyntheticData) -> None:
    users = tiny.users.copy()
    late = users["user_id"].iloc[0]
    users.loc[users["user_id"] == late, "signup_date"] = pd.Timestamp("2030-01-01")  # after every row
    sources = backfilled_sources(users, tiny.accounts, tiny.transactions)
    first = tiny.transactions.groupby("user_id", observed=True)["timestamp"].min()
    signup = sources.users.set_index("user_id")["signup_date"]
    assert (signup.reindex(first.index) <= first).all()
    assert signup[late] == first[late].floor("D")
    assert (signup <= users.set_index("user_id")["signup_date"]).all()


def test_birmingham_rows_become_transactions() -> None:
    raw = pd.DataFrame(
        {
            "trans_date": pd.to_datetime(["2017-01-02", "2017-01-03", "2017-01-04"]),
            "amount_gbp": [12.5, -3.0, 0.0],
            "merchant_name": ["TESCO", "TESCO", None],
            "card_number": ["****1", "****1", "****2"],
            "category": ["Food", None, "Fuel"],
        }
    )
    tx = birmingham_transactions(raw)
    assert tx["direction"].tolist() == ["debit", "credit"]
    assert tx["amount"].tolist() == [12.5, 3.0]
    assert tx["category"].tolist() == ["Food", "unknown"]
    assert (tx["user_id"] == tx["account_id"]).all()


def test_birmingham_folder_follows_data_dir(settings: Settings, tmp_path: Path) -> None:
    assert birmingham_folder(settings, TrainOptions()) == settings.datasets_dir / BIRMINGHAM
    assert birmingham_folder(settings, TrainOptions(data_dir=tmp_path)) == tmp_path  # the folder itself
    (tmp_path / BIRMINGHAM).mkdir()
    assert birmingham_folder(settings, TrainOptions(data_dir=tmp_path)) == tmp_path / BIRMINGHAM


def test_nivesh_data_quick_folder_or_missing(settings: Settings, tmp_path: Path, tiny: SyntheticData) -> None:
    data, source = nivesh_data(settings, TrainOptions(quick=True, seed=7), TINY)
    assert data.transactions["user_id"].nunique() == 20
    assert source.endswith("quick-20x3")
    with pytest.raises(DatasetMissingError, match="nivesh-ml data generate"):
        nivesh_data(settings, TrainOptions(), TINY)
    write_dataset(tiny, tmp_path / "synthetic")
    on_disk, source = nivesh_data(settings, TrainOptions(data_dir=tmp_path / "synthetic"), TINY)
    assert source == str(tmp_path / "synthetic")
    assert len(on_disk.transactions) == len(tiny.transactions)
