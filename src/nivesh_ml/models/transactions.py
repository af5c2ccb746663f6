"""Transactions in, feature-builder sources out: what the models that learn from transactions share.

The spending forecast and the anomaly detector both read the synthetic Nivesh data, a plain
transactions file (``evaluate``) or the Birmingham purchase cards, and hand the feature builder
:class:`~nivesh_ml.features.builders.SourceFrames`. The code for that lives here, once:

- :func:`nivesh_data`: the synthetic data to train on (``--data-dir``, generated in memory for
  ``--quick``, or the home's data set);
- :func:`backfilled_sources`: the synthetic users' history reaches back before their sign-up date
  (the account aggregator pulls it in at sign-up), so each user is counted from their first
  transaction: otherwise a point-in-time build would drop half the users of the first year;
- :func:`read_transactions` and :func:`sources_from_transactions`: a transactions-only file, with
  users and accounts inferred from it;
- :func:`birmingham_folder` and :func:`birmingham_transactions`: the Birmingham cards in the
  synthetic transactions' columns (a card is a user and an account).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.data.public import BIRMINGHAM
from nivesh_ml.data.synthetic import GeneratorConfig, SyntheticData, generate, read_dataset, read_manifest
from nivesh_ml.errors import DataError, DatasetMissingError
from nivesh_ml.features.builders import SourceFrames
from nivesh_ml.models.common import TrainOptions

__all__ = [
    "BIRMINGHAM_MONTHS",
    "TRANSACTION_COLUMNS",
    "backfilled_sources",
    "birmingham_folder",
    "birmingham_transactions",
    "nivesh_data",
    "read_transactions",
    "sources_from_transactions",
]

# Birmingham's twelve monthly statements; a few rows dated just outside belong to neighbours.
BIRMINGHAM_MONTHS = (pd.Timestamp("2016-12-01"), pd.Timestamp("2017-12-01"))
# What a transactions file needs at the least (a spend frame reads these).
TRANSACTION_COLUMNS = ("user_id", "timestamp", "amount", "direction", "category")
_BUILDER_DEFAULTS: dict[str, object] = {
    "merchant": "",
    "channel": "",
    "description": "",
    "balance_after": np.nan,
}


def nivesh_data(
    settings: Settings, options: TrainOptions, quick: GeneratorConfig
) -> tuple[SyntheticData, str]:
    """The synthetic data to train on, and where it came from: ``--data-dir``, the ``quick`` data
    generated in memory (unless ``home_data``), or the home's data set."""
    if options.data_dir is not None:
        return read_dataset(options.data_dir), str(options.data_dir)
    if options.quick and not options.home_data:
        config = GeneratorConfig(users=quick.users, months=quick.months, seed=options.seed)
        # generated in memory; the "source" names what it would be called on disk
        return generate(config), str(
            synthetic_dir(settings).with_name(f"quick-{config.users}x{config.months}")
        )
    folder = synthetic_dir(settings)
    if read_manifest(folder) is None:
        raise DatasetMissingError(
            f"no synthetic data set under {folder}; run `nivesh-ml data generate` first"
        )
    return read_dataset(folder), str(folder)


def backfilled_sources(
    users: pd.DataFrame, accounts: pd.DataFrame, transactions: pd.DataFrame
) -> SourceFrames:
    """Sources in which each user is known from their first transaction (see the module docstring)."""
    first = transactions.groupby("user_id", observed=True, sort=False)["timestamp"].min()
    first_day = first.reindex(users["user_id"]).dt.floor("D").to_numpy()
    signup = users["signup_date"].to_numpy(dtype="datetime64[ns]")
    known = ~pd.isna(first_day)
    backfilled = users.copy()
    backfilled["signup_date"] = np.where(known, np.minimum(signup, first_day), signup)
    return SourceFrames(users=backfilled, accounts=accounts, transactions=transactions)


def sources_from_transactions(transactions: pd.DataFrame) -> SourceFrames:
    """Users and accounts inferred from a transactions-only file (each known from its first row)."""
    stamps = pd.to_datetime(transactions["timestamp"])
    frame = transactions.assign(timestamp=stamps)
    first_user = frame.groupby("user_id", sort=True)["timestamp"].min().dt.floor("D")
    users = pd.DataFrame({"user_id": first_user.index.astype(str), "signup_date": first_user.to_numpy()})
    by_account = frame.groupby("account_id", sort=True).agg(
        user_id=("user_id", "first"), opened_date=("timestamp", "min")
    )
    accounts = pd.DataFrame(
        {
            "account_id": by_account.index.astype(str),
            "user_id": by_account["user_id"].astype(str).to_numpy(),
            "opened_date": by_account["opened_date"].dt.floor("D").to_numpy(),
        }
    )
    return SourceFrames(users=users, accounts=accounts, transactions=frame)


def read_transactions(path: Path, required: Sequence[str] = TRANSACTION_COLUMNS) -> pd.DataFrame:
    """A transactions file (CSV or Parquet with the synthetic data's columns), timestamps parsed.

    Columns the feature builder reads but ``required`` does not name (account, merchant, channel,
    description, balance) get neutral defaults when missing.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    elif path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        raise DataError(f"{path}: expected a .csv or .parquet file of transactions")
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing columns {', '.join(missing)} (see the synthetic transactions)")
    try:
        frame["timestamp"] = pd.to_datetime(frame["timestamp"]).astype("datetime64[ns]")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: timestamp column is not a date-time: {exc}") from None
    # columns the feature builder reads beyond these: a plain file may lack them
    if "account_id" not in frame.columns:
        frame["account_id"] = frame["user_id"]
    for name, default in _BUILDER_DEFAULTS.items():
        if name not in frame.columns:
            frame[name] = default
    return frame


def birmingham_folder(settings: Settings, options: TrainOptions) -> Path:
    """Birmingham's folder: ``--data-dir`` (that folder or the one holding it), else the default."""
    if options.data_dir is None:
        return settings.datasets_dir / BIRMINGHAM
    inside = options.data_dir / BIRMINGHAM
    return inside if inside.is_dir() else options.data_dir


def birmingham_transactions(frame: pd.DataFrame) -> pd.DataFrame:
    """Birmingham card rows in the synthetic transactions' columns: a card is a user (and an account).

    Refunds (negative amounts) become credits; the date has no time of day (midnight); every row
    is a card payment; the expense category (``cac_desc_1``) is the category.
    """
    rows = frame[frame["amount_gbp"].notna() & (frame["amount_gbp"] != 0)]
    amount = rows["amount_gbp"].to_numpy(dtype=np.float64)
    merchant = rows["merchant_name"].fillna("unknown").astype(str).to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "txn_id": [f"B{i:07d}" for i in range(len(rows))],
            "user_id": rows["card_number"].astype(str).to_numpy(dtype=object),
            "account_id": rows["card_number"].astype(str).to_numpy(dtype=object),
            "timestamp": rows["trans_date"].to_numpy(dtype="datetime64[ns]"),
            "amount": np.abs(amount),
            "direction": np.where(amount > 0, "debit", "credit").astype(object),
            "category": rows["category"].fillna("unknown").astype(str).to_numpy(dtype=object),
            "merchant": merchant,
            "channel": "card",
            "description": merchant,
            "balance_after": np.nan,
        }
    )
    return out.sort_values(["timestamp", "txn_id"], kind="stable").reset_index(drop=True)
