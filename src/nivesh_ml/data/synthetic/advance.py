"""Time moves: continue every user's timeline after the data set's last day, one day partition at a time.

:func:`advance_dataset` appends ``days`` days after the last day of the data set (the generated
history's ``end_date``, or the last advanced day). A day is made in four steps, each from its
own random stream seeded by (seed, day, step), so the same day with the same seed and scenario
gives the same bytes however the days were advanced (all at once or one a call):

1. every user's recurring and discretionary rows, continued from their own history
   (:mod:`continuation`);
2. labelled anomalies at :data:`ANOMALY_RATE` (times the scenario's multiplier), of the
   generator's five types (:mod:`anomalies`), thinned so the rate holds for any population;
3. the scenario's change, if one is named (:mod:`scenarios`);
4. narrations, running balances (continued in whole paise from the last balance of every
   deposit account), and ids ``T<yyyymmdd><7-digit row>``; the frame is checked against the
   transactions schema (with the scenario's new categories and anomaly types allowed) and
   written as a partition (:mod:`partitions`);
5. the day's 90-days-past-due events (:mod:`outcomes`: each user's latent risk, plus the
   scenario's ``risk_shift`` for the users its effect names), recorded as ``dpd90`` (user ids) in
   the partition's record with the ``horizon_days`` they were drawn for.

The generated history is never touched. Users and accounts are the generator's own draws for
the manifest's configuration (redrawn and checked against the written tables).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa_schema
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nivesh_ml.data import schemas
from nivesh_ml.data.synthetic import catalog, partitions
from nivesh_ml.data.synthetic.accounts import DEPOSIT_TYPES, Accounts, draw_accounts
from nivesh_ml.data.synthetic.anomalies import ANOMALY_RATE, ANOMALY_SHARES, inject_anomalies
from nivesh_ml.data.synthetic.batch import Batch, concat
from nivesh_ml.data.synthetic.continuation import WINDOW_DAYS, Habits, day_rows, learn_habits
from nivesh_ml.data.synthetic.generator import STAGES, GeneratorConfig
from nivesh_ml.data.synthetic.merchants import ANOMALY_TYPES, CATEGORIES, CHANNELS, DIRECTIONS, vocabulary
from nivesh_ml.data.synthetic.narration import describe
from nivesh_ml.data.synthetic.outcomes import delinquent
from nivesh_ml.data.synthetic.scenarios import (
    EXTRA_ANOMALY_TYPES,
    EXTRA_CATEGORIES,
    EXTRA_MERCHANTS,
    DayContext,
    Scenario,
    get_scenario,
)
from nivesh_ml.data.synthetic.storage import dataset_config, read_manifest
from nivesh_ml.data.synthetic.timeline import Timeline, build_timeline
from nivesh_ml.data.synthetic.users import Population, draw_population
from nivesh_ml.errors import ConfigError, DataError, DatasetMissingError

__all__ = ["ADVANCE_GENERATOR", "DEFAULT_HORIZON_DAYS", "advance_dataset", "next_day"]

ADVANCE_GENERATOR = "nivesh-synthetic-advance"
_ROWS, _ANOMALIES, _NARRATION, _OUTCOMES = 0, 1, 2, 3
DEFAULT_HORIZON_DAYS = 365  # a 12-month default horizon, as ``default_12m`` is labelled
_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


@dataclass
class _World:
    """What every advanced day starts from: the users, their habits and their balances."""

    pop: Population
    acc: Accounts
    user_ids: pa.Array
    account_ids: pa.Array
    habits: Habits
    closing: np.ndarray  # int64 paise: each deposit account's balance after the last day
    risk: np.ndarray  # each user's latent credit risk (``credit_labels.latent_risk``)
    deposit: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.deposit = np.isin(self.acc.kind, DEPOSIT_TYPES)


def advance_dataset(
    folder: Path,
    days: int,
    *,
    scenario: str | None = None,
    seed: int | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    on_day: Callable[[dt.date], None] | None = None,
) -> dict[str, Any]:
    """Append ``days`` day partitions after the data set's last day; returns the updated manifest.

    ``seed`` defaults to the data set's seed; ``scenario`` names one of :data:`scenarios.SCENARIOS`;
    ``horizon_days`` is the default horizon the day's 90-DPD events are drawn for (:mod:`outcomes`).
    ``on_day(day)`` is called after each day is written (and recorded in the manifest).
    """
    if days < 1:
        raise ConfigError(f"days must be at least 1, got {days}")
    if horizon_days < 1:
        raise ConfigError(f"the default horizon must be at least 1 day, got {horizon_days}")
    chosen = get_scenario(scenario) if scenario else None
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise DatasetMissingError(f"no synthetic data set at {folder}: run `nivesh-ml data generate` first")
    config = dataset_config(manifest, folder)
    world = _load_world(folder, manifest, config)
    seed = config.seed if seed is None else seed
    for _ in range(days):
        day = next_day(manifest, config)
        start = _scenario_start(manifest, chosen, day)
        frame, meta = _make_day(world, day, seed, chosen, start, horizon_days)
        path = partitions.partition_path(folder, day)
        partitions.write_partition(frame, meta, path)
        manifest = partitions.record_day(folder, manifest, partitions.day_record(folder, path, meta))
        if on_day is not None:
            on_day(day)
    return manifest


def next_day(manifest: dict[str, Any], config: GeneratorConfig) -> dt.date:
    """The first day not in the data set yet."""
    last = partitions.last_advanced(manifest)
    end = dt.date.fromisoformat(last["day"]) if last else config.end_date
    return end + dt.timedelta(days=1)


def _scenario_start(manifest: dict[str, Any], chosen: Scenario | None, day: dt.date) -> dt.date | None:
    """A scenario named on consecutive days keeps its first day as its start."""
    if chosen is None:
        return None
    last = partitions.last_advanced(manifest)
    if last and last["scenario"] == chosen.name and last["scenario_start"]:
        return dt.date.fromisoformat(last["scenario_start"])
    return day


def _load_world(folder: Path, manifest: dict[str, Any], config: GeneratorConfig) -> _World:
    """Users and accounts (redrawn), habits from the history's last days, balances after the last day."""
    users = _read(folder / "users.parquet", ["user_id", "payday", "monthly_income"])
    accounts = _read(folder / "accounts.parquet", ["account_id"])
    tl = build_timeline(config.end_date, config.months)
    pop = draw_population(config.users, tl, np.random.default_rng([config.seed, STAGES.index("users")]))
    acc = draw_accounts(pop, tl, np.random.default_rng([config.seed, STAGES.index("accounts")]))
    if pop.n != len(users) or acc.n != len(accounts) or not np.allclose(pop.income, users["monthly_income"]):
        raise DataError(f"{folder}: users or accounts differ from the manifest's config; regenerate it")
    since = pd.Timestamp(config.end_date - dt.timedelta(days=WINDOW_DAYS - 1))
    window = _read(folder / "transactions.parquet", None, [("timestamp", ">=", since)])
    user_ids, account_ids = pa.array(users["user_id"].array), pa.array(accounts["account_id"].array)
    return _World(
        pop=pop,
        acc=acc,
        user_ids=user_ids,
        account_ids=account_ids,
        habits=learn_habits(window, users, accounts, config.end_date),
        closing=_closing_balances(folder, manifest, acc, account_ids),
        risk=_latent_risk(folder, users["user_id"]),
    )


def _latent_risk(folder: Path, user_ids: pd.Series) -> np.ndarray:
    """Each user's latent credit risk, in the order of ``user_ids`` (the history's last label)."""
    labels = _read(folder / "credit_labels.parquet", ["user_id", "latent_risk"])
    risk = labels.drop_duplicates("user_id", keep="last").set_index("user_id")["latent_risk"]
    return np.asarray(risk.reindex(user_ids.array).fillna(0.0).to_numpy(dtype=np.float64))


def _read(path: Path, columns: list[str] | None, filters: list[Any] | None = None) -> pd.DataFrame:
    return pq.read_table(path, columns=columns, filters=filters).to_pandas(types_mapper=_STRINGS.get)


def _closing_balances(
    folder: Path, manifest: dict[str, Any], acc: Accounts, account_ids: pa.Array
) -> np.ndarray:
    """Each account's balance in paise after the last day: the history's last, plus every advanced day."""
    closing: np.ndarray = np.round(np.nan_to_num(acc.opening) * 100).astype(np.int64)
    history = pq.read_table(folder / "transactions.parquet", columns=["account_id", "balance_after"])
    code = pc.index_in(history["account_id"], value_set=account_ids).fill_null(-1).to_numpy()
    balance = history["balance_after"].to_numpy(zero_copy_only=False)
    # the last row of each account is the first of the reversed rows (rows are in time order per user)
    accounts, first = np.unique(code[::-1], return_index=True)
    last_balance = balance[::-1][first]
    known = ~np.isnan(last_balance) & (accounts >= 0)
    closing[accounts[known].astype(np.int64)] = np.round(last_balance[known] * 100).astype(np.int64)
    for part in partitions.read_partitions(folder, manifest, ["account_id", "amount", "direction"]):
        part_code = (
            pc.index_in(pa.array(part["account_id"].array), value_set=account_ids).fill_null(0).to_numpy()
        )
        signed = np.round(np.where(part["direction"] == "credit", 1, -1) * part["amount"].to_numpy() * 100)
        np.add.at(closing, part_code.astype(np.int64), signed.astype(np.int64))
    return closing


def _make_day(
    world: _World, day: dt.date, seed: int, chosen: Scenario | None, start: dt.date | None, horizon_days: int
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One day's transactions frame and its metadata record."""

    def rng(step: int) -> np.random.Generator:
        return np.random.default_rng([seed, day.toordinal(), step])

    tl = _day_timeline(day)
    rows = day_rows(world.habits, day, rng(_ROWS))
    rate = ANOMALY_RATE * (chosen.anomaly_multiplier if chosen else 1.0)
    rows = _with_anomalies(rows, rate, world, tl, rng(_ANOMALIES))
    effect: dict[str, Any] = {}
    ids = np.asarray(world.user_ids.to_numpy(zero_copy_only=False))
    if chosen is not None and start is not None:
        rows, effect = chosen.apply(rows, DayContext(day, start, seed, world.pop, world.acc, ids))
    risk = world.risk
    if chosen is not None and chosen.risk_shift:
        risk = risk + chosen.risk_shift * np.isin(ids, effect.get("users", []))
    dpd90 = delinquent(risk, horizon_days, rng(_OUTCOMES))
    frame = _frame(rows, world, tl, day, rng(_NARRATION))
    schemas.validate(frame, _SCHEMA)
    meta = {
        "generator": ADVANCE_GENERATOR,
        "day": day.isoformat(),
        "seed": seed,
        "scenario": chosen.name if chosen else None,
        "scenario_start": start.isoformat() if start else None,
        "effect": effect,
        "rows": len(frame),
        "anomaly_rate": round(float(frame["is_anomaly"].mean()) if len(frame) else 0.0, 6),
        "horizon_days": horizon_days,
        "dpd90": [str(user) for user in ids[dpd90]],
    }
    return frame, meta


def _day_timeline(day: dt.date) -> Timeline:
    """A window of the one day (its month's arrays kept for narrations and paydays)."""
    month = build_timeline(day, 1)
    last = slice(month.n_days - 1, month.n_days)
    return Timeline(
        start=day,
        end=day,
        day_ns=month.day_ns[last],
        dow=month.dow[last],
        dom=month.dom[last],
        cal_month=month.cal_month[last],
        festive=month.festive[last],
        month_first=np.zeros(1, dtype=np.int64),
        month_stop=np.ones(1, dtype=np.int64),
        month_len=month.month_len,
        month_cal=month.month_cal,
        month_year=month.month_year,
    )


def _with_anomalies(rows: Batch, rate: float, world: _World, tl: Timeline, rng: np.random.Generator) -> Batch:
    """``rows`` with the generator's anomalies at ``rate`` (amount spikes at the normal rate).

    The generator injects at least one event of each type; for a small population that is far
    above the rate, so events are kept with the probability that brings each type to its share.
    """
    n = len(rows)
    if n == 0:
        return rows
    copies = max(1, math.ceil(rate / ANOMALY_RATE - 1e-9))
    injected = inject_anomalies(concat([rows] * copies), world.pop, world.acc, tl, rng)
    head, tail = injected.take(np.arange(n)), injected.take(np.arange(n * copies, len(injected)))
    spike = head.anomaly == ANOMALY_TYPES.index("amount_spike")
    wanted = n * ANOMALY_RATE * ANOMALY_SHARES["amount_spike"]
    undo = spike & (rng.random(n) >= min(1.0, wanted / max(int(spike.sum()), 1)))
    head.amount[undo], head.anomaly[undo] = rows.amount[undo], 0
    return concat([head, tail.take(_kept_events(tail, n * rate, rng))])


def _kept_events(tail: Batch, expected_rows: float, rng: np.random.Generator) -> np.ndarray:
    """A mask of appended anomaly rows: whole events kept with the probability that meets each share."""
    burst = ANOMALY_TYPES.index("velocity_burst")
    same_burst = (
        (tail.anomaly[1:] == burst)
        & (tail.anomaly[:-1] == burst)
        & (tail.user[1:] == tail.user[:-1])
        & (np.diff(tail.second) > 0)
        & (np.diff(tail.second) <= 120)
    )
    event = np.cumsum(np.r_[True, ~same_burst]) - 1
    kind = tail.anomaly[np.flatnonzero(np.r_[True, ~same_burst])]
    keep_p = np.ones(len(ANOMALY_TYPES))
    for name, share in ANOMALY_SHARES.items():
        code = ANOMALY_TYPES.index(name)
        produced = int((kind == code).sum())
        wanted = expected_rows * share / (8.5 if code == burst else 1.0)
        keep_p[code] = min(1.0, wanted / max(produced, 1))
    keep_event = rng.random(kind.size) < keep_p[kind]
    return np.asarray(keep_event[event], dtype=bool)


def _frame(rows: Batch, world: _World, tl: Timeline, day: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    """The public transactions frame of one day's rows, ordered by user then time."""
    b = rows.take(np.lexsort((rows.second, rows.user)))
    balance = _balances(b, world)
    ts = tl.day_ns[0] + b.second.astype(np.int64) * 1_000_000_000
    return pd.DataFrame(
        {
            "txn_id": _txn_ids(day, len(b)),
            "user_id": pd.arrays.ArrowStringArray(pa.chunked_array([world.user_ids.take(pa.array(b.user))])),
            "account_id": pd.arrays.ArrowStringArray(
                pa.chunked_array([world.account_ids.take(pa.array(b.account))])
            ),
            "timestamp": ts.astype("datetime64[ns]"),
            "amount": b.amount,
            "direction": pd.Categorical.from_codes(b.credit.astype(np.int8), DIRECTIONS),
            "category": _categorical(b.category, CATEGORIES, EXTRA_CATEGORIES),
            "merchant": _categorical(b.merchant, vocabulary(), EXTRA_MERCHANTS),
            "channel": pd.Categorical.from_codes(b.channel, CHANNELS),
            "description": pd.arrays.ArrowStringArray(pa.chunked_array([_narrations(b, world, tl, rng)])),
            "balance_after": balance,
            "is_anomaly": b.anomaly > 0,
            "anomaly_type": _categorical(b.anomaly, ANOMALY_TYPES, EXTRA_ANOMALY_TYPES),
        }
    )


def _txn_ids(day: dt.date, n: int) -> pd.api.extensions.ExtensionArray:
    numbers = pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string())
    ids = pc.binary_join_element_wise(f"T{day:%Y%m%d}", pc.utf8_lpad(numbers, 7, "0"), "")
    return pd.arrays.ArrowStringArray(pa.chunked_array([ids.cast(pa.large_string())]))


def _categorical(codes: np.ndarray, known: tuple[str, ...], extra: tuple[str, ...]) -> pd.Categorical:
    """Codes over ``known + extra`` as a categorical of ``known`` and only the extras that occur."""
    full = pd.Categorical.from_codes(codes, [*known, *extra])
    unused = [name for i, name in enumerate(extra) if not np.any(codes == len(known) + i)]
    return full.remove_categories(unused) if unused else full


def _balances(b: Batch, world: _World) -> np.ndarray:
    """Running balance of each deposit-account row (NaN elsewhere); moves ``world.closing`` on."""
    signed = np.round(np.where(b.credit, b.amount, -b.amount) * 100).astype(np.int64)
    by_account = np.argsort(b.account, kind="stable")
    account, moves = b.account[by_account], signed[by_account]
    running = np.cumsum(moves)
    first = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    before = np.repeat(running[first] - moves[first], np.diff(np.r_[first, account.size]))
    balance = np.empty(len(b), dtype=np.int64)
    balance[by_account] = world.closing[account] + running - before
    np.add.at(world.closing, b.account.astype(np.int64), signed)
    return np.where(world.deposit[b.account], balance / 100, np.nan)


def _narrations(b: Batch, world: _World, tl: Timeline, rng: np.random.Generator) -> pa.Array:
    """Statement narrations: the generator's for known merchants, UPI or card formats for unseen ones."""
    unseen = b.merchant >= len(vocabulary())
    known = describe(b.take(~unseen), world.pop, world.acc, tl, rng)
    new = b.take(unseen)
    names = pa.array([name.upper() for name in EXTRA_MERCHANTS]).take(
        pa.array(new.merchant - len(vocabulary()))
    )
    ref = pc.cast(pa.array(rng.integers(10**11, 10**12, len(new))), pa.string())
    app = pa.array(catalog.UPI_APPS).take(pa.array(world.pop.upi_app[new.user]))
    last4 = pc.utf8_lpad(
        pc.cast(pa.array(world.acc.last4[new.account].astype(np.int64)), pa.string()), 4, "0"
    )
    upi = pc.binary_join_element_wise("UPI/", names, "/", ref, "/", app, "")
    card = pc.binary_join_element_wise("POS XXXX", last4, " ", names, "")
    fresh = pc.if_else(pa.array(new.channel == CHANNELS.index("card")), card, upi)
    order = np.r_[np.flatnonzero(~unseen), np.flatnonzero(unseen)]
    inverse = np.empty(len(b), dtype=np.int64)
    inverse[order] = np.arange(len(b))
    return pa.concat_arrays([known.cast(pa.string()), fresh.cast(pa.string())]).take(pa.array(inverse))


_SCHEMA = schemas.TRANSACTIONS.update_columns(
    {
        "category": {"checks": [pa_schema.Check.isin([*CATEGORIES, *EXTRA_CATEGORIES])]},
        "anomaly_type": {"checks": [pa_schema.Check.isin([*ANOMALY_TYPES, *EXTRA_ANOMALY_TYPES])]},
    }
)
