"""The model's inputs, declared once: names, kinds, allowed ranges, missing-value policy, monotonicity.

Every call validates against the schema: :meth:`FeatureSchema.validate_row` for one applicant (the
server's hot path) and :meth:`FeatureSchema.validate_frame` for a file; a bad value raises
:class:`~nivesh_ml.errors.SchemaError` naming the feature (the server maps it to 422). Features
read from the store rather than sent by a caller go through :meth:`FeatureSchema.clip_row` first:
a number outside its range there is our data's fault, not the applicant's, so it is clipped to the
bound and reported (:class:`Clipped`) instead of leaving the user unscorable.

The Nivesh model reads the ``user_financial_profile`` view: behaviour only. Gender is not in the
view; **age and city tier are not model inputs** either, although the synthetic data's latent
risk depends on both. They are protected or proxy attributes, and a score that moves with them
could not be explained to an applicant as something they did; they are kept beside the data for
the fairness checks alone. Missing values: means and ratios may be missing where the view
defines them as NaN (no card: no utilisation; no income: no debt-to-income), and XGBoost learns
where such rows belong; counts, flags and sums may not.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from nivesh_ml.errors import SchemaError
from nivesh_ml.features.definitions import PROFILE_WINDOWS_MONTHS, get_view, window_days

__all__ = ["NIVESH_SCHEMA", "Clipped", "FeatureSchema", "FeatureSpec", "Kind"]

Kind = Literal["number", "count", "flag", "category"]


@dataclass(frozen=True)
class FeatureSpec:
    """One input: its kind, allowed range, whether it may be missing, its monotone direction.

    ``monotone`` is +1 where risk must never fall as the value grows, -1 where it must never
    rise, 0 where domain knowledge is not certain. ``family`` groups features that say the same
    thing over different windows (late payments in 3, 6, 12 months) into one reason.
    """

    name: str
    kind: Kind
    description: str
    low: float = -math.inf
    high: float = math.inf
    nullable: bool = False
    monotone: int = 0
    categories: tuple[str, ...] = ()
    family: str = ""

    def check(self, value: Any) -> float | str:
        """The value as the model reads it (a float, NaN, or a category), or a SchemaError."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if self.nullable:
                return math.nan
            raise SchemaError(f"feature {self.name!r} is missing; it is required ({self.description})")
        if self.kind == "category":
            if isinstance(value, str) and value in self.categories:
                return value
            raise SchemaError(
                f"feature {self.name!r} must be one of {', '.join(self.categories)}, got {value!r}"
            )
        if self.kind == "flag":
            return self._flag(value)
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise SchemaError(f"feature {self.name!r} must be a number, got {value!r}")
        number = float(value)
        if self.kind == "count" and not number.is_integer():
            raise SchemaError(f"feature {self.name!r} must be a whole number, got {value!r}")
        if not self.low <= number <= self.high:
            raise SchemaError(
                f"feature {self.name!r} must be in [{self.low:g}, {self.high:g}], got {value!r}"
            )
        return number

    def clip(self, value: Any) -> float | None:
        """The bound nearest ``value`` if it is a number outside the range; None for anything else."""
        if self.kind not in ("number", "count") or isinstance(value, bool | np.bool_):
            return None
        if not isinstance(value, numbers.Real) or math.isnan(float(value)):
            return None
        number = float(value)
        return None if self.low <= number <= self.high else min(max(number, self.low), self.high)

    def _flag(self, value: Any) -> float:
        if isinstance(value, bool | np.bool_):
            return float(value)
        if isinstance(value, numbers.Real) and float(value) in (0.0, 1.0):
            return float(value)
        raise SchemaError(f"feature {self.name!r} must be true or false, got {value!r}")

    @property
    def encoded(self) -> list[str]:
        """Its columns in the model's matrix: itself, or one per category (``name=code``)."""
        return [f"{self.name}={code}" for code in self.categories] if self.kind == "category" else [self.name]


@dataclass(frozen=True)
class Clipped:
    """A stored feature's value outside its range, and the bound the model read instead."""

    feature: str
    value: float
    used: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description, for the response and the log."""
        return asdict(self)


class FeatureSchema:
    """An ordered set of :class:`FeatureSpec` with validation and encoding to the model's matrix."""

    def __init__(self, name: str, features: Sequence[FeatureSpec]) -> None:
        self.name = name
        self.features = tuple(features)
        self.names = [spec.name for spec in self.features]
        self._known = frozenset(self.names)
        self._offsets = np.cumsum([0, *(len(spec.encoded) for spec in self.features)]).tolist()
        self.encoded_names = [column for spec in self.features for column in spec.encoded]
        if len(self._known) != len(self.names):
            raise SchemaError(f"schema {name!r} declares a feature twice")

    def __len__(self) -> int:
        return len(self.features)

    def spec(self, name: str) -> FeatureSpec:
        """The spec of feature ``name``."""
        return self.features[self.names.index(name)]

    @property
    def monotone_constraints(self) -> tuple[int, ...]:
        """XGBoost's monotone constraints, one per encoded column."""
        return tuple(spec.monotone for spec in self.features for _ in spec.encoded)

    @property
    def source_index(self) -> np.ndarray:
        """For each encoded column, the position of the feature it came from."""
        return np.repeat(np.arange(len(self.features)), np.diff(self._offsets))

    # --- one applicant ------------------------------------------------------------------------

    def validate_row(self, row: Mapping[str, Any]) -> tuple[np.ndarray, list[float | str]]:
        """``row`` as a (1, encoded) float matrix and its checked values, or a SchemaError."""
        unknown = row.keys() - self._known
        if unknown:
            raise SchemaError(
                f"unknown feature(s) {', '.join(sorted(unknown))}; expected {', '.join(self.names)}"
            )
        matrix = np.zeros((1, self._offsets[-1]), dtype=np.float64)
        values: list[float | str] = []
        for position, spec in enumerate(self.features):
            if spec.name not in row:
                raise SchemaError(f"feature {spec.name!r} is missing from the request ({spec.description})")
            value = spec.check(row[spec.name])
            values.append(value)
            self._put(matrix, position, spec, value)
        return matrix, values

    def clip_row(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], list[Clipped]]:
        """``row`` with each number outside its range replaced by the bound, and what was replaced.

        Only for features read from the store: a caller's own values are validated, never clipped.
        Anything else wrong (a missing value, a word for a number) is left for :meth:`validate_row`.
        """
        clipped: list[Clipped] = []
        out = dict(row)
        for spec in self.features:
            bound = spec.clip(row.get(spec.name))
            if bound is not None:
                clipped.append(Clipped(spec.name, float(row[spec.name]), bound))
                out[spec.name] = bound
        return out, clipped

    def _put(self, matrix: np.ndarray, position: int, spec: FeatureSpec, value: float | str) -> None:
        start = self._offsets[position]
        if spec.kind != "category":
            matrix[0, start] = value
        elif isinstance(value, str):
            matrix[0, start + spec.categories.index(value)] = 1.0
        else:  # a missing category: every indicator missing, as in a frame
            matrix[0, start : start + len(spec.categories)] = np.nan

    # --- a file -------------------------------------------------------------------------------

    def validate_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The schema's columns of ``frame``, checked and normalised (floats; categories as str)."""
        missing = [name for name in self.names if name not in frame.columns]
        if missing:
            raise SchemaError(f"missing feature column(s) {', '.join(missing)}")
        checked = {spec.name: _check_column(spec, frame[spec.name]) for spec in self.features}
        return pd.DataFrame(checked, index=frame.index)

    def encode(self, checked: pd.DataFrame) -> np.ndarray:
        """A checked frame (see :meth:`validate_frame`) as the model's float matrix."""
        blocks = [_encode_column(spec, checked[spec.name]) for spec in self.features]
        return np.column_stack(blocks) if blocks else np.empty((len(checked), 0))

    # --- as an artefact -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (infinite bounds as None)."""
        return {"name": self.name, "features": [_spec_dict(spec) for spec in self.features]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSchema:
        """The schema :meth:`to_dict` described."""
        specs = [_spec_from(item) for item in data["features"]]
        return cls(str(data["name"]), specs)


def _check_column(spec: FeatureSpec, column: pd.Series) -> pd.Series:
    """One column, checked as :meth:`FeatureSpec.check` checks a value, vectorised."""
    if spec.kind == "category":
        values = column.astype(object).where(column.notna(), None)
        bad = values.notna() & ~values.isin(spec.categories)
        _raise_first(spec, column, bad, f"must be one of {', '.join(spec.categories)}")
        _raise_missing(spec, column, values.isna())
        return values
    if column.dtype == bool:
        if spec.kind == "flag":
            return column.astype(np.float64)
        _raise_first(spec, column, pd.Series(True, index=column.index), "must be a number")
    numbers_ = pd.to_numeric(column.astype(object).where(column.notna(), np.nan), errors="coerce")
    _raise_first(spec, column, numbers_.isna() & column.notna(), "must be a number")
    _raise_missing(spec, column, numbers_.isna())
    present = numbers_.dropna().astype(np.float64)
    if spec.kind == "flag":
        _raise_first(spec, column, ~numbers_.isin([0.0, 1.0]) & numbers_.notna(), "must be true or false")
    elif spec.kind == "count":
        _raise_first(
            spec, column, (present % 1 != 0).reindex(column.index, fill_value=False), "must be whole"
        )
    outside = ((present < spec.low) | (present > spec.high)).reindex(column.index, fill_value=False)
    _raise_first(spec, column, outside, f"must be in [{spec.low:g}, {spec.high:g}]")
    return numbers_.astype(np.float64)


def _raise_missing(spec: FeatureSpec, column: pd.Series, missing: pd.Series) -> None:
    if not spec.nullable:
        _raise_first(spec, column, missing, "is missing; it is required")


def _raise_first(spec: FeatureSpec, column: pd.Series, bad: pd.Series, problem: str) -> None:
    if bool(bad.any()):
        row = bad.idxmax()
        value = column[row].item() if isinstance(column[row], np.generic) else column[row]
        count = int(bad.sum())
        raise SchemaError(f"feature {spec.name!r} {problem}: row {row} has {value!r} ({count} bad rows)")


def _encode_column(spec: FeatureSpec, column: pd.Series) -> np.ndarray:
    if spec.kind != "category":
        return np.asarray(column.to_numpy(dtype=np.float64)).reshape(-1, 1)
    onehot = np.column_stack([(column == code).to_numpy(dtype=np.float64) for code in spec.categories])
    onehot[column.isna().to_numpy()] = np.nan
    return onehot


def _spec_dict(spec: FeatureSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["low"] = None if math.isinf(spec.low) else spec.low
    data["high"] = None if math.isinf(spec.high) else spec.high
    data["categories"] = list(spec.categories)
    return data


def _spec_from(item: Mapping[str, Any]) -> FeatureSpec:
    low, high = item.get("low"), item.get("high")
    return FeatureSpec(
        name=str(item["name"]),
        kind=item["kind"],
        description=str(item["description"]),
        low=-math.inf if low is None else float(low),
        high=math.inf if high is None else float(high),
        nullable=bool(item["nullable"]),
        monotone=int(item["monotone"]),
        categories=tuple(item.get("categories", ())),
        family=str(item.get("family", "")),
    )


# --- the Nivesh model's inputs ----------------------------------------------------------------

_MONEY = 1e10  # INR: far above any real figure, low enough to catch a unit or parsing error


def _nivesh_specs() -> list[FeatureSpec]:
    described = {feature.name: feature.description for feature in get_view("user_financial_profile").features}

    def spec(name: str, kind: Kind, low: float, high: float, **extra: Any) -> FeatureSpec:
        return FeatureSpec(name, kind, described[name], low, high, **extra)

    windows = {m: window_days(m) for m in PROFILE_WINDOWS_MONTHS}  # the builder's windows: 92, 184, 366
    return [
        spec("history_months", "count", 0, 6),
        spec("monthly_income", "number", 0, _MONEY, nullable=True, monotone=-1),
        spec("income_volatility", "number", 0, 1_000, nullable=True),
        spec("avg_monthly_spend", "number", 0, _MONEY, nullable=True),
        spec("savings_rate", "number", -1, 1, nullable=True, monotone=-1),
        spec("balance_mean_90d", "number", -_MONEY, _MONEY, nullable=True, monotone=-1),
        spec("balance_min_90d", "number", -_MONEY, _MONEY, nullable=True, monotone=-1),
        spec("balance_std_90d", "number", 0, _MONEY, nullable=True),
        spec("avg_monthly_emi", "number", 0, _MONEY, nullable=True),
        spec("debt_to_income", "number", 0, 1e6, nullable=True, monotone=1),
        spec("avg_monthly_card_spend", "number", 0, _MONEY, nullable=True),
        spec("total_credit_limit", "number", 0, _MONEY),
        spec("credit_utilisation", "number", 0, 1_000, nullable=True, monotone=1),
        *(
            spec(f"late_payments_{m}m", "count", 0, 1_000, monotone=1, family="late_payments")
            for m, days in windows.items()
        ),
        *(
            spec(f"overdraft_days_{m}m", "count", 0, days, monotone=1, family="overdrafts")
            for m, days in windows.items()
        ),
        spec("n_accounts", "count", 0, 100),
        spec("n_savings_accounts", "count", 0, 100),
        spec("n_current_accounts", "count", 0, 100),
        spec("n_credit_cards", "count", 0, 100),
        spec("n_loans", "count", 0, 100),
        spec("tenure_months", "count", 0, 1_200),
        spec("has_salary_account", "flag", 0, 1),
    ]


NIVESH_SCHEMA = FeatureSchema("nivesh", _nivesh_specs())
"""The Nivesh model's 26 inputs: every ``user_financial_profile`` feature, in the view's order."""
