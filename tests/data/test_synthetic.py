"""The synthetic generator: determinism, shape, stages, anomalies, and writing and reading a data set."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nivesh_ml.data.synthetic import (
    ANOMALY_TYPES,
    STAGES,
    GeneratorConfig,
    SyntheticData,
    generate,
    read_dataset,
    read_manifest,
    storage,
    write_dataset,
)
from nivesh_ml.data.synthetic.merchants import FOREIGN_MERCHANTS
from nivesh_ml.data.versioning import files_version
from nivesh_ml.errors import ConfigError, DataError, DatasetMissingError, SchemaError

SMALL = GeneratorConfig(users=200, months=3, seed=11)
TABLES = ("users", "accounts", "transactions", "credit_labels")


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate(SMALL)


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def test_same_config_writes_identical_bytes(tmp_path: Path) -> None:
    write_dataset(generate(SMALL), tmp_path / "a")
    write_dataset(generate(SMALL), tmp_path / "b")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    assert len(_digests(tmp_path / "a")) == 4


def test_a_different_seed_gives_different_data(tmp_path: Path) -> None:
    first = write_dataset(generate(SMALL), tmp_path / "a")
    other = write_dataset(generate(GeneratorConfig(users=200, months=3, seed=12)), tmp_path / "b")
    assert first["version"] != other["version"]
    assert all(first["files"][name] != other["files"][name] for name in first["files"])


def test_progress_is_called_once_per_stage_in_order() -> None:
    seen: list[str] = []
    generate(GeneratorConfig(users=20, months=1), progress=seen.append)
    assert seen == list(STAGES)


@pytest.mark.parametrize(("field", "value"), [("users", 0), ("months", 0), ("months", 121), ("seed", -1)])
def test_a_bad_config_raises_config_error(field: str, value: int) -> None:
    with pytest.raises(ConfigError, match=field):
        GeneratorConfig(**{field: value})


def test_the_end_date_is_fixed_not_today() -> None:
    assert GeneratorConfig().end_date == dt.date(2026, 10, 31)


def test_frames_have_the_documented_columns(data: SyntheticData) -> None:
    assert list(data.users.columns) == [
        "user_id", "age", "gender", "city", "city_tier", "occupation", "income_band", "monthly_income",
        "payday", "signup_date",
    ]  # fmt: skip
    assert list(data.accounts.columns) == [
        "account_id", "user_id", "bank", "account_type", "masked_number", "opened_date", "credit_limit",
        "loan_amount", "emi_amount", "interest_rate",
    ]  # fmt: skip
    assert list(data.transactions.columns) == [
        "txn_id", "user_id", "account_id", "timestamp", "amount", "direction", "category", "merchant",
        "channel", "description", "balance_after", "is_anomaly", "anomaly_type",
    ]  # fmt: skip
    assert list(data.credit_labels.columns) == ["user_id", "as_of", "default_12m", "latent_risk"]
    assert data.transactions["timestamp"].dtype == "datetime64[ns]"
    assert data.transactions["timestamp"].dt.tz is None


def test_every_user_has_a_primary_account_and_rows_reference_known_ids(data: SyntheticData) -> None:
    users, accounts, tx = data.users, data.accounts, data.transactions
    assert len(users) == SMALL.users
    assert set(accounts["user_id"]) == set(users["user_id"])
    primary = accounts[accounts["account_type"].isin(["savings", "salary"])]
    assert primary["user_id"].nunique() == SMALL.users
    assert set(tx["account_id"]) <= set(accounts["account_id"])
    owner = tx["account_id"].map(accounts.set_index("account_id")["user_id"])
    assert (owner == tx["user_id"]).all()
    assert tx["txn_id"].is_unique


def test_rows_are_sorted_by_user_then_time_within_the_window(data: SyntheticData) -> None:
    tx = data.transactions
    order = tx.sort_values(["user_id", "timestamp"], kind="stable")
    assert order.index.equals(tx.index)
    assert tx["timestamp"].min() >= pd.Timestamp("2026-08-01")
    assert tx["timestamp"].max() < pd.Timestamp("2026-11-01")


def test_running_balance_follows_the_signed_amounts(data: SyntheticData) -> None:
    tx = data.transactions
    deposit = tx[tx["balance_after"].notna()]
    signed = np.where(deposit["direction"] == "credit", deposit["amount"], -deposit["amount"])
    step = deposit["balance_after"].groupby(deposit["account_id"]).diff()
    later = step.notna()
    assert np.allclose(step[later], signed[later.to_numpy()], atol=0.011)
    cards = data.accounts.loc[data.accounts["account_type"] == "credit_card", "account_id"]
    assert tx.loc[tx["account_id"].isin(cards), "balance_after"].isna().all()


def test_every_anomaly_type_is_present_and_labelled(data: SyntheticData) -> None:
    tx = data.transactions
    present = set(tx.loc[tx["is_anomaly"], "anomaly_type"])
    assert present == set(ANOMALY_TYPES) - {""}
    assert (tx.loc[~tx["is_anomaly"], "anomaly_type"] == "").all()


def test_unusual_hour_anomalies_are_at_night_at_a_new_merchant(data: SyntheticData) -> None:
    tx = data.transactions
    odd = tx[tx["anomaly_type"] == "unusual_hour_new_merchant"]
    assert odd["timestamp"].dt.hour.between(1, 4).all()
    normal_pairs = set(
        zip(tx.loc[~tx["is_anomaly"], "user_id"], tx.loc[~tx["is_anomaly"], "merchant"], strict=True)
    )
    assert not any(pair in normal_pairs for pair in zip(odd["user_id"], odd["merchant"], strict=True))


def test_duplicates_repeat_an_ordinary_charge_within_minutes(data: SyntheticData) -> None:
    tx = data.transactions
    keys = ["account_id", "merchant", "amount"]
    dupes = tx[tx["anomaly_type"] == "duplicate_charge"][[*keys, "timestamp"]]
    originals = tx[~tx["is_anomaly"]][[*keys, "timestamp"]]
    pairs = dupes.merge(originals, on=keys, suffixes=("", "_original"))
    gap = (pairs["timestamp"] - pairs["timestamp_original"]).dt.total_seconds()
    matched = pairs[(gap >= 0) & (gap <= 150)].drop_duplicates(subset=[*keys, "timestamp"])
    assert len(matched) == len(dupes)


def test_velocity_bursts_and_foreign_charges_look_as_documented(data: SyntheticData) -> None:
    tx = data.transactions
    burst = tx[tx["anomaly_type"] == "velocity_burst"]
    spans = burst.groupby(["user_id", burst["timestamp"].dt.date])["timestamp"].agg(["size", "min", "max"])
    assert (spans["size"] >= 5).all()
    assert ((spans["max"] - spans["min"]).dt.total_seconds() <= 12 * 121).all()
    foreign = tx[tx["anomaly_type"] == "foreign_card_not_present"]
    assert (foreign["channel"] == "card").all()
    assert foreign["merchant"].isin(FOREIGN_MERCHANTS).all()
    assert foreign["description"].str.contains("USD").all()


def test_amount_spikes_are_far_above_the_users_usual_amount(data: SyntheticData) -> None:
    tx = data.transactions
    normal = tx[~tx["is_anomaly"] & (tx["direction"] == "debit")]
    usual = normal.groupby(["user_id", "category"], observed=True)["amount"].median()
    spikes = tx[tx["anomaly_type"] == "amount_spike"]
    ratio = spikes["amount"].to_numpy() / usual.reindex(
        pd.MultiIndex.from_frame(spikes[["user_id", "category"]])
    )
    assert np.nanmedian(ratio) > 4


def test_write_then_read_round_trips_every_frame(data: SyntheticData, tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    manifest = write_dataset(data, out)
    back = read_dataset(out)
    assert back.config == data.config
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(data, name))
    assert read_manifest(out) == manifest


def test_the_manifest_describes_the_files(data: SyntheticData, tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    manifest = write_dataset(data, out)
    assert manifest["generator"] == "nivesh-synthetic"
    assert manifest["generator_version"] == 1
    assert manifest["config"] == {"users": 200, "months": 3, "seed": 11, "end_date": "2026-10-31"}
    assert manifest["rows"] == {name: len(getattr(data, name)) for name in TABLES}
    assert set(manifest["files"]) == {f"{name}.parquet" for name in TABLES}
    assert manifest["version"] == files_version(out.glob("*.parquet"), out)
    assert manifest["anomaly_rate"] == pytest.approx(data.transactions["is_anomaly"].mean(), abs=1e-6)
    assert manifest["default_rate"] == pytest.approx(data.credit_labels["default_12m"].mean(), abs=1e-6)


def test_a_failed_write_leaves_no_data_set(
    data: SyntheticData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = storage._write_parquet
    written: list[Path] = []

    def fail_on_second(frame: pd.DataFrame, path: Path) -> None:
        if written:
            raise OSError("disk full")
        written.append(path)
        real_write(frame, path)

    monkeypatch.setattr(storage, "_write_parquet", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        write_dataset(data, tmp_path / "synthetic")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_keeps_the_old_data_set(
    data: SyntheticData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "synthetic"
    first = write_dataset(data, out)

    def broken(frame: pd.DataFrame, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(storage, "_write_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        write_dataset(data, out)
    assert read_manifest(out) == first
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic"]


def test_rewriting_replaces_the_data_set(data: SyntheticData, tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    write_dataset(generate(GeneratorConfig(users=30, months=1)), out)
    manifest = write_dataset(data, out)
    assert read_manifest(out) == manifest
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic"]


def test_reading_a_missing_data_set_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError, match="nivesh-ml data generate") as info:
        read_dataset(tmp_path / "nowhere")
    assert "\n" not in str(info.value)
    assert read_manifest(tmp_path / "nowhere") is None


def test_a_data_set_missing_a_file_is_missing(data: SyntheticData, tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    write_dataset(data, out)
    (out / "transactions.parquet").unlink()
    with pytest.raises(DatasetMissingError, match=r"transactions\.parquet"):
        read_dataset(out)


def test_an_invalid_frame_is_never_written(data: SyntheticData, tmp_path: Path) -> None:
    broken = SyntheticData(
        config=data.config,
        users=data.users,
        accounts=data.accounts,
        transactions=data.transactions.assign(amount=-data.transactions["amount"]),
        credit_labels=data.credit_labels,
    )
    with pytest.raises(SchemaError, match="amount"):
        write_dataset(broken, tmp_path / "synthetic")
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_manifest_is_a_data_error(data: SyntheticData, tmp_path: Path) -> None:
    out = tmp_path / "synthetic"
    write_dataset(data, out)
    (out / "manifest.json").write_text('{"config": {"users": "many"}}', encoding="utf-8")
    with pytest.raises(DataError, match="damaged"):
        read_dataset(out)
