"""Synthetic users: who they are (age, city, occupation, income) and the traits that drive their money.

Shares: occupations as in :data:`catalog.OCCUPATIONS` (46% salaried, 6% government, 11%
self-employed, 7% business owners, 9% gig workers, 10% students, 5% retired, 6% homemakers);
36% women (95% of homemakers, 8% of gig workers); 55% / 30% / 15% in tier 1 / 2 / 3 cities.

``payday`` is the day of the month regular income arrives: salaried users 1 (40%), the last
working day (35%, stored as 31: the last Monday-to-Friday of the month), 5, 7 or 10 (25%);
government staff and pensioners the 1st or the last working day; students and homemakers the
day their allowance is sent; 0 for irregular income (self-employed, business owners, gig workers).
``signup_date`` is when the user joined Nivesh (up to three years before the window); linked
accounts bring their statement history, so every user has transactions for the whole window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nivesh_ml.data.synthetic import catalog, credit, merchants
from nivesh_ml.data.synthetic.timeline import Timeline

__all__ = ["LAST_WORKING_DAY", "Population", "draw_population", "occupation_code", "users_frame"]

LAST_WORKING_DAY = 31
_CONTACTS = 6


@dataclass(frozen=True)
class Population:
    """Per-user arrays (index = user) for the generators; only some become public columns."""

    age: np.ndarray
    female: np.ndarray
    city: np.ndarray
    tier: np.ndarray
    occupation: np.ndarray
    income: np.ndarray  # net monthly income, INR
    payday: np.ndarray  # 0 = irregular; 31 = last working day
    signup_day: np.ndarray  # datetime64[D]
    payer: np.ndarray  # vocabulary code of who pays the regular income (-1: many clients)
    renter: np.ndarray
    rent: np.ndarray  # monthly rent, INR (0 if not renting)
    vehicle: np.ndarray  # 0 none, 1 two-wheeler, 2 car
    activity: np.ndarray  # multiplier of every discretionary count
    upi_app: np.ndarray  # index into catalog.UPI_APPS
    contacts: np.ndarray  # (n, 6) vocabulary codes of the people they pay most
    risk: np.ndarray  # latent credit risk z
    spend_ratio: np.ndarray  # target outflow / income

    @property
    def n(self) -> int:
        """The number of users."""
        return int(self.age.size)


def occupation_code(name: str) -> int:
    """The code of an occupation."""
    return [o.name for o in catalog.OCCUPATIONS].index(name)


def draw_population(n: int, timeline: Timeline, rng: np.random.Generator) -> Population:
    """Draw ``n`` users; every trait is a vectorised draw conditioned on the ones before it."""
    occ = rng.choice(len(catalog.OCCUPATIONS), n, p=_normalised([o.share for o in catalog.OCCUPATIONS]))
    age = _ages(occ, rng)
    city = rng.choice(len(catalog.CITIES), n, p=_normalised([c.weight for c in catalog.CITIES]))
    tier = np.array([c.tier for c in catalog.CITIES], dtype=np.int8)[city]
    income = _incomes(occ, age, tier, rng)
    risk = credit.latent_risk(age, occ, income, tier, rng)
    renter = rng.random(n) < _renter_probability(occ, age, tier)
    rent_share = np.where(occ == occupation_code("student"), 0.4, rng.uniform(0.17, 0.32, n))
    rent_floor = np.array([0, 6_000, 4_500, 3_000])[tier]
    rent = np.where(renter, np.round(np.maximum(income * rent_share, rent_floor), -2), 0.0)
    return Population(
        age=age,
        female=rng.random(n) < _female_probability(occ),
        city=city.astype(np.int16),
        tier=tier,
        occupation=occ.astype(np.int8),
        income=income,
        payday=_paydays(occ, rng),
        signup_day=_signup_days(n, timeline, rng),
        payer=_payers(occ, rng),
        renter=renter,
        rent=rent,
        vehicle=_vehicles(occ, income, rng),
        activity=rng.lognormal(-0.045, 0.3, n) * (1.15 - 0.45 * (age - 21) / 49),
        upi_app=rng.choice(len(catalog.UPI_APPS), n, p=[0.37, 0.45, 0.08, 0.03, 0.04, 0.03]).astype(np.int8),
        contacts=rng.choice(merchants.codes(merchants.person_names()), (n, _CONTACTS)),
        risk=risk,
        spend_ratio=credit.spend_ratio(risk, rng),
    )


def users_frame(pop: Population, user_ids: pd.Series) -> pd.DataFrame:
    """The public ``users`` frame."""
    bands = np.searchsorted(np.array(catalog.INCOME_BAND_EDGES), pop.income, side="right")
    return pd.DataFrame(
        {
            "user_id": user_ids.array,
            "age": pop.age.astype(np.int16),
            "gender": pd.Categorical.from_codes(np.where(pop.female, 0, 1), catalog.GENDERS),
            "city": pd.Categorical.from_codes(pop.city, [c.name for c in catalog.CITIES]),
            "city_tier": pop.tier.astype(np.int8),
            "occupation": pd.Categorical.from_codes(pop.occupation, [o.name for o in catalog.OCCUPATIONS]),
            "income_band": pd.Categorical.from_codes(bands, catalog.INCOME_BANDS, ordered=True),
            "monthly_income": pop.income.astype(np.float64),
            "payday": pop.payday.astype(np.int8),
            "signup_date": pop.signup_day.astype("datetime64[ns]"),
        }
    )


def _normalised(weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return np.asarray(w / w.sum(), dtype=np.float64)


def _ages(occ: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lo = np.array([o.age_lo for o in catalog.OCCUPATIONS])[occ]
    hi = np.array([o.age_hi for o in catalog.OCCUPATIONS])[occ]
    # Working ages skew young (the app's users); students and retirees spread evenly.
    shape = np.where(np.isin(occ, [occupation_code("student"), occupation_code("retired")]), 1.0, 2.2)
    return np.asarray(lo + np.floor(rng.beta(1.3, shape) * (hi - lo + 1)), dtype=np.int16)


def _incomes(occ: np.ndarray, age: np.ndarray, tier: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    median = np.array([o.median_income for o in catalog.OCCUPATIONS])[occ]
    sigma = np.array([o.sigma for o in catalog.OCCUPATIONS])[occ]
    tier_factor = np.array((0.0, *catalog.TIER_INCOME))[tier]
    earns_by_seniority = np.isin(
        occ, [occupation_code(n) for n in ("salaried", "government", "business_owner")]
    )
    seniority = np.where(earns_by_seniority, np.clip(1 + 0.025 * (age - 30), 0.8, 1.6), 1.0)
    income = median * tier_factor * seniority * np.exp(sigma * rng.standard_normal(occ.size))
    return np.asarray(np.round(np.clip(income, 3_000, 1_000_000), -2), dtype=np.float64)


def _female_probability(occ: np.ndarray) -> np.ndarray:
    p = np.full(occ.size, 0.36)
    p[occ == occupation_code("homemaker")] = 0.95
    p[occ == occupation_code("gig_worker")] = 0.08
    return p


def _renter_probability(occ: np.ndarray, age: np.ndarray, tier: np.ndarray) -> np.ndarray:
    p = np.array([0.0, 0.55, 0.40, 0.25])[tier] * np.where(age > 45, 0.5, 1.0)
    p = np.where(occ == occupation_code("student"), 0.35, p)
    p = np.where(occ == occupation_code("retired"), 0.08, p)
    return np.where(occ == occupation_code("homemaker"), 0.12, p)


def _paydays(occ: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = occ.size
    lwd = LAST_WORKING_DAY
    salaried = rng.choice([1, lwd, 5, 7, 10], n, p=[0.40, 0.35, 0.08, 0.09, 0.08])
    government = rng.choice([1, lwd], n, p=[0.6, 0.4])
    allowance = rng.choice([1, 5, 7, 10], n)
    day = np.select(
        [occ == occupation_code(o) for o in ("salaried", "government", "retired", "student", "homemaker")],
        [salaried, government, government, allowance, allowance],
        default=0,
    )
    return day.astype(np.int8)


def _signup_days(n: int, timeline: Timeline, rng: np.random.Generator) -> np.ndarray:
    end = np.datetime64(timeline.end, "D")
    span = (end - np.datetime64(timeline.start, "D")).astype(np.int64) + 3 * 365 - 30
    # More recent sign-ups than old ones: the app grows.
    back = np.floor((1 - np.sqrt(rng.random(n))) * span).astype(np.int64) + 30
    return end - back


def _payers(occ: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = occ.size
    options = {
        "salaried": catalog.EMPLOYERS,
        "government": catalog.GOVT_EMPLOYERS,
        "gig_worker": catalog.GIG_PLATFORMS,
        "retired": catalog.PENSION_PAYERS,
    }
    payer = np.full(n, -1, dtype=np.int32)
    for name, names in options.items():
        mask = occ == occupation_code(name)
        payer[mask] = rng.choice(merchants.codes(names), int(mask.sum()))
    return payer


def _vehicles(occ: np.ndarray, income: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p_car = np.clip(0.04 + 0.35 * income / 100_000, 0.0, 0.65)
    p_car = np.where(occ == occupation_code("student"), 0.02, p_car)
    p_two = np.where(occ == occupation_code("gig_worker"), 0.85, 0.45) * (1 - p_car)
    u = rng.random(occ.size)
    return np.where(u < p_car, 2, np.where(u < p_car + p_two, 1, 0)).astype(np.int8)
