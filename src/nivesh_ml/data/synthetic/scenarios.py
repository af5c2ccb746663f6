"""Scenarios: ways the world changes on the advanced days, each a small declarative object.

A :class:`Scenario` has a name, a one-line description (from :mod:`nivesh_ml.data.scenarios`),
an anomaly-rate multiplier and an ``apply`` step that turns a day's rows into the changed
rows plus a JSON-ready ``effect`` (written into the partition's metadata with the start day,
so a test can check that the platform noticed). A scenario starts on the first day of a run of
days it is named for; its choices (who loses their salary, how fast each price rises) are
drawn from a stream seeded by (seed, start day), so they hold for the whole run.

Unseen names live after the generator's tables: merchant codes from ``len(vocabulary())`` index
:data:`EXTRA_MERCHANTS`, category codes from ``len(CATEGORIES)`` :data:`EXTRA_CATEGORIES`,
anomaly codes from ``len(ANOMALY_TYPES)`` :data:`EXTRA_ANOMALY_TYPES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nivesh_ml.data.scenarios import SCENARIO_DESCRIPTIONS
from nivesh_ml.data.synthetic.accounts import Accounts
from nivesh_ml.data.synthetic.anomalies import ANOMALY_RATE
from nivesh_ml.data.synthetic.batch import Batch, concat, make_batch
from nivesh_ml.data.synthetic.merchants import ANOMALY_TYPES, CATEGORIES, cat, ch, vocabulary
from nivesh_ml.data.synthetic.outcomes import SHOCK_RISK
from nivesh_ml.data.synthetic.users import Population, occupation_code

__all__ = [
    "EXTRA_ANOMALY_TYPES",
    "EXTRA_CATEGORIES",
    "EXTRA_MERCHANTS",
    "SCENARIOS",
    "DayContext",
    "Scenario",
    "get_scenario",
]

QUICK_COMMERCE: tuple[str, ...] = ("Zipto Express", "Dash10", "KwikBasket", "MinuteKart", "SnapGrocer")
NEW_IN_CATEGORY: dict[str, tuple[str, ...]] = {
    "groceries": ("Bharat Bazaar Online", "FreshKart Daily"),
    "food_delivery": ("ThaliNow", "Bite Express"),
    "dining": ("Chai Sutta Corner", "The Burger Co"),
    "shopping": ("Kraftly", "StyleLoop", "Gadget Hut"),
}
CARD_TESTING: tuple[str, ...] = ("PAYU*TESTSHOP", "RZP*DIGIMART", "CCAVENUE*GAMEPAY", "STRIPE*APPTOPUP")
EXTRA_MERCHANTS: tuple[str, ...] = (
    *QUICK_COMMERCE,
    *(name for names in NEW_IN_CATEGORY.values() for name in names),
    *CARD_TESTING,
)
EXTRA_CATEGORIES: tuple[str, ...] = ("quick_commerce",)
EXTRA_ANOMALY_TYPES: tuple[str, ...] = ("card_testing",)

_DISCRETIONARY = (
    "groceries", "food_delivery", "dining", "fuel", "shopping", "travel", "entertainment",
    "healthcare", "p2p_transfer", "atm_withdrawal",
)  # fmt: skip
_PRICED = (
    "groceries", "food_delivery", "dining", "fuel", "utilities", "shopping", "travel", "healthcare",
    "education", "entertainment",
)  # fmt: skip


@dataclass(frozen=True)
class DayContext:
    """What a scenario sees of the day it changes."""

    day: dt.date
    start: dt.date
    seed: int
    pop: Population
    acc: Accounts
    user_ids: np.ndarray  # user_id of each user index

    @property
    def age(self) -> int:
        """Days since the scenario started (0 on its first day)."""
        return (self.day - self.start).days

    def rng(self, stream: int) -> np.random.Generator:
        """The day's random stream ``stream`` of this scenario."""
        return np.random.default_rng([self.seed, self.day.toordinal(), 1_000 + stream])

    def start_rng(self, stream: int) -> np.random.Generator:
        """A stream fixed for the whole run (seeded by the start day): the scenario's choices."""
        return np.random.default_rng([self.seed, self.start.toordinal(), 2_000 + stream])


Apply = Callable[[Batch, DayContext], tuple[Batch, dict[str, Any]]]


@dataclass(frozen=True)
class Scenario:
    """A change of the world: the rows it alters and the anomaly rate it multiplies."""

    name: str
    description: str
    apply: Apply
    anomaly_multiplier: float = 1.0
    # latent credit risk added to the users its effect names (``effect["users"]``) while it lasts:
    # their 90-DPD hazard rises with it (:mod:`.outcomes`)
    risk_shift: float = 0.0


def _extra(name: str) -> int:
    return len(vocabulary()) + EXTRA_MERCHANTS.index(name)


def _codes(names: tuple[str, ...]) -> np.ndarray:
    return np.array([cat(name) for name in names], dtype=np.int8)


def _income_shock(
    rows: Batch, ctx: DayContext, share: float = 0.2, cut: float = 0.3
) -> tuple[Batch, dict[str, Any]]:
    """A share of salary earners lose their salary credits and spend less."""
    earners = np.flatnonzero(
        np.isin(ctx.pop.occupation, [occupation_code(o) for o in ("salaried", "government", "gig_worker")])
    )
    affected = np.sort(ctx.start_rng(0).choice(earners, round(share * earners.size), replace=False))
    hit = np.isin(rows.user, affected)
    salary = hit & rows.credit & (rows.category == cat("salary"))
    spending = hit & ~rows.credit & np.isin(rows.category, _codes(_DISCRETIONARY)) & (rows.anomaly == 0)
    dropped = spending & (ctx.rng(0).random(len(rows)) < cut)
    effect = {
        "share": share,
        "spending_cut": cut,
        "users": [str(u) for u in ctx.user_ids[affected]],
        "salary_credits_stopped": int(salary.sum()),
    }
    return rows.take(~(salary | dropped)), effect


def _inflation(rows: Batch, ctx: DayContext) -> tuple[Batch, dict[str, Any]]:
    """Everyday prices rise about 1% a day per category, compounding from the start day."""
    rates = np.round(ctx.start_rng(1).uniform(0.006, 0.014, len(_PRICED)), 4)
    factor = (1 + rates) ** (ctx.age + 1)
    per_code = np.ones(len(CATEGORIES) + len(EXTRA_CATEGORIES))
    per_code[_codes(_PRICED)] = factor
    priced = ~rows.credit & (rows.anomaly == 0) & (rows.category < len(CATEGORIES))
    out = rows.take(np.arange(len(rows)))
    out.amount[priced] = np.round(out.amount[priced] * per_code[out.category[priced]], 2)
    effect = {
        "daily_rate": dict(zip(_PRICED, rates.tolist(), strict=True)),
        "price_factor": {c: round(float(f), 6) for c, f in zip(_PRICED, factor, strict=True)},
    }
    return out, effect


def _new_merchants(rows: Batch, ctx: DayContext, share: float = 0.25) -> tuple[Batch, dict[str, Any]]:
    """A share of everyday spending goes to unseen merchants; groceries and food partly to quick commerce."""
    rng = ctx.rng(2)
    out = rows.take(np.arange(len(rows)))
    movable = ~out.credit & (out.anomaly == 0) & np.isin(out.category, _codes(tuple(NEW_IN_CATEGORY)))
    moved = movable & (rng.random(len(out)) < share)
    quick = (
        moved & np.isin(out.category, _codes(("groceries", "food_delivery"))) & (rng.random(len(out)) < 0.5)
    )
    quick_codes = np.array([_extra(n) for n in QUICK_COMMERCE], dtype=np.int32)
    out.merchant[quick] = rng.choice(quick_codes, int(quick.sum()))
    out.category[quick] = len(CATEGORIES) + EXTRA_CATEGORIES.index("quick_commerce")
    out.channel[quick] = ch("UPI")
    for category, names in NEW_IN_CATEGORY.items():
        here = moved & ~quick & (out.category == cat(category))
        out.merchant[here] = rng.choice(np.array([_extra(n) for n in names], dtype=np.int32), int(here.sum()))
    effect = {
        "share": share,
        "new_category": "quick_commerce",
        "merchants": list(QUICK_COMMERCE) + [n for names in NEW_IN_CATEGORY.values() for n in names],
        "rows_moved": int(moved.sum()),
        "rows_quick_commerce": int(quick.sum()),
    }
    return out, effect


def _fraud_wave(
    rows: Batch, ctx: DayContext, extra_rate: float = 2.5 * ANOMALY_RATE
) -> tuple[Batch, dict[str, Any]]:
    """Card testing: bursts of 4-12 tiny card-not-present charges at night at unseen payment gateways."""
    rng = ctx.rng(3)
    events = int(rng.poisson(extra_rate * len(rows) / 8.0))
    size = rng.integers(4, 13, events)
    event = np.repeat(np.arange(events), size)
    user = rng.integers(0, ctx.pop.n, events)[event]
    card = ctx.acc.card[user]
    gaps = rng.integers(30, 301, event.size)
    first = np.cumsum(size) - size
    gaps[first] = 0
    elapsed = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first], size)
    start = rng.integers(0, 5 * 3600 - 12 * 300, events)[event]
    merchant = np.array([_extra(n) for n in CARD_TESTING], dtype=np.int32)[
        rng.integers(0, len(CARD_TESTING), events)
    ]
    testing = make_batch(
        user=user,
        account=np.where(card >= 0, card, ctx.acc.primary[user]),
        day=np.zeros(event.size, dtype=np.int32),
        second=start + elapsed,
        amount=np.round(rng.uniform(1.0, 99.0, event.size), 2),
        credit=False,
        category=cat("shopping"),
        merchant=merchant[event],
        channel=np.where(card >= 0, ch("card"), ch("UPI")),
        anomaly=len(ANOMALY_TYPES) + EXTRA_ANOMALY_TYPES.index("card_testing"),
    )
    effect = {
        "rate_multiplier": 5.0,
        "new_patterns": list(EXTRA_ANOMALY_TYPES),
        "merchants": list(CARD_TESTING),
        "card_testing_rows": len(testing),
    }
    return concat([rows, testing]), effect


SCENARIOS: dict[str, Scenario] = {
    "income-shock": Scenario(
        "income-shock", SCENARIO_DESCRIPTIONS["income-shock"], _income_shock, risk_shift=SHOCK_RISK
    ),
    "inflation": Scenario("inflation", SCENARIO_DESCRIPTIONS["inflation"], _inflation),
    "new-merchants": Scenario("new-merchants", SCENARIO_DESCRIPTIONS["new-merchants"], _new_merchants),
    # the known anomaly types at 3x, plus card testing at 2.5x the normal rate: about 5x in all
    "fraud-wave": Scenario(
        "fraud-wave", SCENARIO_DESCRIPTIONS["fraud-wave"], _fraud_wave, anomaly_multiplier=3.0
    ),
}


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name``; ConfigError naming the choices for any other name."""
    from nivesh_ml.errors import ConfigError

    if name not in SCENARIOS:
        raise ConfigError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    return SCENARIOS[name]
