"""Latent credit risk, the behaviour it drives, and the 12-month default label.

Each user gets a latent risk ``z`` (about standard normal) from occupation, income, age and city
tier plus noise that no user attribute explains (about three quarters of its variance; only
behaviour reveals it)::

    raw = occupation shift - 0.35 ln(income / 40k) + 0.35 exp(-(age - 21) / 8) + tier shift + N(0, 0.85)
    z   = (raw - RISK_CENTER) / RISK_SCALE

``z`` drives what a lender can see in the transactions and accounts:

- spend ratio (outflow / income): 0.78 + 0.14 z (+-0.05), clipped to 0.55..1.25, and an opening
  balance of income x exp(N(0.6 - 0.5 z, 0.6)) -> overdrafts (negative ``balance_after``): about
  a quarter of users dip below zero at least once in 24 months, 2% of those with z < -1 and 70%
  of those with z > 1
- credit-card full payment probability: sigmoid(1.0 - 1.6 z); otherwise 5-60% of the bill, and
  the unpaid rest accrues finance charges -> utilisation climbs
- late payment, per card-month and loan-month: sigmoid(-4.3 + 1.6 z) (~1.3% at z=0, 22% at z=2),
  seen as a "Late Payment Fee" or "NACH Return Charges" (fees) and a payment days after the due date
- "Min Balance Charges" sigmoid(-4.8 + 1.5 z) and "Cheque Return Charges" sigmoid(-6 + 1.5 z) a month
- credit limit x exp(-0.25 z); share of card-channel spending on the credit card sigmoid(0.6 + 0.5 z)
- personal-loan uptake sigmoid(-2.2 + 0.7 z), its EMI-to-income x exp(0.25 z) and rate + 1.5 z points
- a missed (salaried) or halved (variable) income month: sigmoid(-5 + 1.3 z) per month
- fewer SIP investors, and more of them stopping their SIPs

The label ``default_12m`` (default within the 12 months after ``end_date``) is Bernoulli with
probability sigmoid(DEFAULT_ALPHA + DEFAULT_BETA z): a base rate of about 7.4% (documented
range 6-9%, ``DEFAULT_BASE_RATE``), never a deterministic function of any one column. The AUC of
``z`` itself for the label is about 0.87; a logistic regression on five behaviour features
(utilisation, late fees, overdraft days, income volatility, EMI-to-income) reaches about 0.8.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from nivesh_ml.data.synthetic import catalog

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BASE_RATE",
    "DEFAULT_BETA",
    "card_share",
    "credit_frame",
    "default_labels",
    "full_payer_probability",
    "income_shock_probability",
    "late_probability",
    "latent_risk",
    "sigmoid",
    "spend_ratio",
]

RISK_CENTER = 0.306
RISK_SCALE = 0.987
DEFAULT_BETA = 1.8
DEFAULT_ALPHA = -3.65
DEFAULT_BASE_RATE = (0.06, 0.09)  # the documented range of the default rate
_TIER_SHIFT = np.array([0.0, 0.0, 0.1, 0.2])  # indexed by tier 1..3


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)


def latent_risk(
    age: np.ndarray, occupation: np.ndarray, income: np.ndarray, tier: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The latent credit risk ``z`` of each user (about standard normal; higher is riskier)."""
    occupation_shift = np.array([o.risk for o in catalog.OCCUPATIONS])[occupation]
    raw = (
        occupation_shift
        - 0.35 * np.log(income / 40_000)
        + 0.35 * np.exp(-(age - 21) / 8)
        + _TIER_SHIFT[tier]
        + rng.normal(0.0, 0.85, age.size)
    )
    return np.asarray((raw - RISK_CENTER) / RISK_SCALE, dtype=np.float64)


def default_labels(risk: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whether each user defaults within 12 months: Bernoulli(sigmoid(alpha + beta z))."""
    return rng.random(risk.size) < sigmoid(DEFAULT_ALPHA + DEFAULT_BETA * risk)


def spend_ratio(risk: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each user's monthly outflow as a share of income: risky users spend all of it, or more."""
    return np.clip(0.78 + 0.14 * risk + rng.normal(0.0, 0.05, risk.size), 0.55, 1.25)


def full_payer_probability(risk: np.ndarray) -> np.ndarray:
    """Probability that a card bill is paid in full."""
    return sigmoid(1.0 - 1.6 * risk)


def late_probability(risk: np.ndarray) -> np.ndarray:
    """Probability that a card bill or an EMI is paid late (fee, bounce) in a given month."""
    return sigmoid(-4.3 + 1.6 * risk)


def card_share(risk: np.ndarray) -> np.ndarray:
    """Share of a card holder's card-channel spending that goes on the credit card (not the debit card)."""
    return sigmoid(0.6 + 0.5 * risk)


def income_shock_probability(risk: np.ndarray) -> np.ndarray:
    """Probability of a month with income missed (salaried) or halved (variable income)."""
    return sigmoid(-5.0 + 1.3 * risk)


def credit_frame(user_ids: pd.Series, risk: np.ndarray, default: np.ndarray, as_of: dt.date) -> pd.DataFrame:
    """The public ``credit_labels`` frame: user_id, as_of, default_12m, latent_risk."""
    return pd.DataFrame(
        {
            "user_id": user_ids.array,
            "as_of": pd.Series(np.full(risk.size, np.datetime64(as_of, "ns"))),
            "default_12m": default.astype(bool),
            "latent_risk": risk.astype(np.float64).round(6),
        }
    )
