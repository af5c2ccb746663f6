"""Reason codes: the factors that raised a score, in plain language, from XGBoost's own contributions.

``Booster.predict(..., pred_contribs=True)`` splits each score's margin (log-odds) exactly into
one contribution per input plus a bias (TreeSHAP). Contributions of one-hot columns are summed back
to their attribute, and those of a family (late payments over 3, 6 and 12 months) into one factor,
voiced by the member that contributed most. Only factors that **raise** risk (a positive
contribution) are reasons, as an adverse-action notice needs; a factor whose value cannot be
stated as adverse (no late payments at all) is skipped rather than invented.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import xgboost as xgb

from nivesh_ml.models.credit_risk.schema import FeatureSchema, FeatureSpec

__all__ = ["Reason", "contributions", "reason_text", "reasons_from_contributions"]

_MIN_CONTRIBUTION = 1e-6  # log-odds; below this a factor did not move the score
Template = Callable[[float], str | None]


@dataclass(frozen=True)
class Reason:
    """One factor that raised the score: the feature, its plain-language text, its log-odds push."""

    feature: str
    text: str
    contribution: float


def contributions(booster: xgb.Booster, matrix: np.ndarray) -> np.ndarray:
    """Per row, each encoded column's contribution to the margin, plus the bias as the last column."""
    names = booster.feature_names
    return np.asarray(
        booster.predict(xgb.DMatrix(matrix, feature_names=names, nthread=1), pred_contribs=True)
    )


def reasons_from_contributions(
    schema: FeatureSchema, row_contributions: np.ndarray, values: Sequence[float | str], limit: int
) -> list[Reason]:
    """The up to ``limit`` reasons of one row, largest push first (see the module docstring)."""
    per_feature = np.bincount(schema.source_index, weights=row_contributions[:-1], minlength=len(schema))
    families: dict[str, list[int]] = {}
    for position, spec in enumerate(schema.features):
        families.setdefault(spec.family or spec.name, []).append(position)
    pushes = sorted(((float(per_feature[m].sum()), m) for m in families.values()), key=lambda item: -item[0])
    found: list[Reason] = []
    for push, members in pushes:
        if push <= _MIN_CONTRIBUTION or len(found) >= limit:
            break
        reason = _voice(schema, per_feature, members, values, push)
        if reason is not None and reason.text not in {known.text for known in found}:
            found.append(reason)
    return found


def _voice(
    schema: FeatureSchema,
    per_feature: np.ndarray,
    members: list[int],
    values: Sequence[float | str],
    push: float,
) -> Reason | None:
    """The family's reason, voiced by the member that pushed most and can be stated as adverse."""
    for position in sorted(members, key=lambda member: per_feature[member], reverse=True):
        spec = schema.features[position]
        text = reason_text(spec, values[position])
        if text is not None:
            return Reason(spec.name, text, push)
    return None


def reason_text(spec: FeatureSpec, value: float | str) -> str | None:
    """The plain-language reason for ``spec`` at ``value``; None if the value is not adverse."""
    if isinstance(value, str):
        return f"{spec.description}: {value}"
    template = _TEMPLATES.get(spec.name) or _window_template(spec.name)
    if template is None:
        return None if math.isnan(value) else f"{spec.description} ({value:g})"
    return template(value)


# --- the Nivesh features' texts ---------------------------------------------------------------


def _rupees(value: float) -> str:
    return f"₹{value:,.0f}"


def _plural(count: float, word: str) -> str:
    return f"{count:.0f} {word}" + ("" if count == 1 else "s")


def _utilisation(value: float) -> str | None:
    if math.isnan(value):
        return "no credit card to show a repayment record"
    for level in (0.8, 0.5, 0.3):
        if value > level:
            return f"credit utilisation above {level:.0%}"
    return f"credit utilisation of {value:.0%}"


def _debt_to_income(value: float) -> str | None:
    if math.isnan(value):
        return "EMIs with no regular income to pay them from"
    if value > 1:
        return "EMIs larger than monthly income"
    return f"EMIs take {value:.0%} of monthly income" if value > 0 else None


def _income(value: float) -> str:
    return (
        "no regular income detected"
        if math.isnan(value) or value <= 0
        else f"low monthly income ({_rupees(value)})"
    )


def _savings(value: float) -> str:
    if math.isnan(value):
        return "no regular income to save from"
    return "spending exceeds income" if value < 0 else f"saves only {value:.0%} of income"


def _balance_mean(value: float) -> str:
    if value < 0:
        return "average balance below zero over the last 90 days"
    return f"low average balance ({_rupees(value)} over the last 90 days)"


def _balance_min(value: float) -> str:
    if value < 0:
        return "balance went below zero in the last 90 days"
    return f"balance fell to {_rupees(value)} in the last 90 days"


def _when_nonzero(text: Callable[[float], str]) -> Template:
    return lambda value: None if math.isnan(value) or value <= 0 else text(value)


def _when_zero(text: str) -> Template:
    return lambda value: text if value == 0 else None


_TEMPLATES: dict[str, Template] = {
    "credit_utilisation": _utilisation,
    "debt_to_income": _debt_to_income,
    "monthly_income": _income,
    "savings_rate": _savings,
    "balance_mean_90d": _balance_mean,
    "balance_min_90d": _balance_min,
    "income_volatility": _when_nonzero(lambda v: f"irregular income (varies {v:.0%} month to month)"),
    "avg_monthly_spend": _when_nonzero(lambda v: f"high monthly spending ({_rupees(v)})"),
    "balance_std_90d": _when_nonzero(
        lambda v: f"large swings in account balance ({_rupees(v)} over 90 days)"
    ),
    "avg_monthly_emi": _when_nonzero(lambda v: f"EMI payments of {_rupees(v)} a month"),
    "avg_monthly_card_spend": _when_nonzero(lambda v: f"credit-card spending of {_rupees(v)} a month"),
    "total_credit_limit": lambda v: (
        "no credit limit on record" if v == 0 else f"total credit limit of {_rupees(v)}"
    ),
    "n_loans": _when_nonzero(lambda v: f"{_plural(v, 'loan')} open"),
    "n_credit_cards": lambda v: "no credit card repayment record" if v == 0 else _plural(v, "credit card"),
    "n_accounts": lambda v: f"{_plural(v, 'account')} linked",
    "n_savings_accounts": _when_zero("no savings account"),
    "n_current_accounts": _when_nonzero(lambda v: _plural(v, "current account")),
    "tenure_months": lambda v: f"short time with Nivesh ({_plural(v, 'month')})",
    "history_months": lambda v: f"only {_plural(v, 'month')} of transaction history",
    "has_salary_account": _when_zero("no salary account"),
}


def _window_template(name: str) -> Template | None:
    """Texts of the windowed counts: ``late_payments_6m``, ``overdraft_days_3m``, ..."""
    for prefix, phrase in _WINDOWED.items():
        if name.startswith(prefix) and name.endswith("m"):
            return _when_nonzero(partial(phrase, months=name[len(prefix) : -1]))
    return None


def _late(value: float, *, months: str) -> str:
    return f"{_plural(value, 'late payment')} in the last {months} months"


def _overdrawn(value: float, *, months: str) -> str:
    return f"account overdrawn on {_plural(value, 'day')} in the last {months} months"


_WINDOWED: dict[str, Callable[..., str]] = {"late_payments_": _late, "overdraft_days_": _overdrawn}
