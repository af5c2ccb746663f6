"""The served spending forecast: an MLflow pyfunc over stored parameters, and a fast ``forecast``.

``forecast(user_id, horizon_months, category=None)`` answers from the parameters (category curves,
window weights, band quantiles) and the user's ``spending_patterns`` row: from ``features`` when
the caller passes it, else from the online store bound with :meth:`SpendingForecaster.bind_store`.
Nothing is fitted at call time. The months are the whole calendar months after ``as_of`` (default:
the end of the training data, which is when the latest feature snapshot was taken).

``serve(request)`` is the model server's hot path (the request body, plus the user's online rows
under ``"features"``).

``predict`` (the pyfunc contract) takes a DataFrame with ``user_id`` and optionally
``horizon_months``, ``category``, ``as_of`` and the ``spend_<category>_<days>d`` features, and
returns one row per user, month and category (``category == "total"`` for the user's total).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.pyfunc.model import PythonModelContext

from nivesh_ml.errors import DataError, FeatureStoreError
from nivesh_ml.features.online import ViewKey
from nivesh_ml.models.pyfunc import ArtefactModel
from nivesh_ml.models.spending.forecast import Forecast, SpendingParams, forecast_cube
from nivesh_ml.models.spending.panel import levels_from_features

__all__ = ["ARTIFACT", "OUTPUT_COLUMNS", "SpendingForecaster"]

ARTIFACT = "params"  # the artefact name of the parameters file
OUTPUT_COLUMNS = ("user_id", "month", "category", "amount", "lower", "upper")
_VIEW = ViewKey("spending_patterns", 1)
_DEFAULT_HORIZON = 3


class SpendingForecaster(ArtefactModel[SpendingParams]):
    """Per-user, per-category monthly spend forecasts with 80% bands (see the module docstring)."""

    artifact = ARTIFACT
    payload_name = "parameters"

    def load_payload(self, path: Path) -> SpendingParams:
        """Read the parameters file logged with the model."""
        return SpendingParams.load(path)

    @property
    def params(self) -> SpendingParams:
        """The loaded parameters."""
        return self.payload

    def forecast(
        self,
        user_id: str,
        horizon_months: int = _DEFAULT_HORIZON,
        category: str | None = None,
        *,
        features: Mapping[str, Any] | None = None,
        as_of: pd.Timestamp | str | None = None,
    ) -> dict[str, Any]:
        """``{"user_id", "as_of", "forecast": [{"month", "category", "amount", "lower", "upper"}], "total"}``.

        Raises DataError for a bad horizon or category, FeatureStoreError when the user has no features.
        """
        params = self.params
        horizon = self._horizon(horizon_months)
        if category is not None and category not in params.categories:
            raise DataError(f"unknown category {category!r}; choose one of {', '.join(params.categories)}")
        row = features if features is not None else self._features(user_id)
        levels = levels_from_features(row, params.categories, params.config.windows_days)
        instant = pd.Timestamp(as_of) if as_of is not None else params.cut
        result = forecast_cube(params, levels, instant, horizon)
        wanted = [category] if category else list(params.categories)
        return {
            "user_id": user_id,
            "as_of": instant.isoformat(),
            "forecast": _category_rows(result, params.categories, wanted),
            "total": _total_rows(result),
        }

    def serve(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The model server's hot path: a ``POST /predict/spending`` body plus ``"features"``.

        ``request["features"]`` holds the user's online rows by view (``"spending_patterns:v1"``);
        ``as_of`` may be given, else the training data's end is used.
        """
        rows = request.get("features") or {}
        row = rows.get(str(_VIEW)) if isinstance(rows, Mapping) else None
        if row is None:
            raise FeatureStoreError(f"user {request.get('user_id')!r} has no fresh {_VIEW} features online")
        horizon = request.get("horizon_months")
        return self.forecast(
            str(request.get("user_id")),
            _DEFAULT_HORIZON if horizon is None else horizon,
            request.get("category"),
            features=row,
            as_of=request.get("as_of"),
        )

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """One row per user, month and category (and ``total``), for each input row."""
        if "user_id" not in model_input.columns:
            raise DataError("spending input needs a user_id column")
        rows: list[dict[str, Any]] = []
        for record in model_input.to_dict("records"):
            answer = self._answer(record)
            rows += [{"user_id": answer["user_id"], **item} for item in answer["forecast"]]
            rows += [{"user_id": answer["user_id"], "category": "total", **item} for item in answer["total"]]
        return pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))

    def _answer(self, record: Mapping[str, Any]) -> dict[str, Any]:
        has_features = any(str(key).startswith("spend_") for key in record)
        horizon = record.get("horizon_months")
        category = record.get("category")
        as_of = record.get("as_of")
        return self.forecast(
            str(record["user_id"]),
            _DEFAULT_HORIZON if horizon is None or _missing(horizon) else int(horizon),
            None if _missing(category) else str(category),
            features=record if has_features else None,
            as_of=None if _missing(as_of) else pd.Timestamp(as_of),
        )

    def _horizon(self, horizon_months: int) -> int:
        limit = self.params.config.max_horizon_months
        if isinstance(horizon_months, bool) or not isinstance(horizon_months, int | np.integer):
            raise DataError(f"horizon_months must be a whole number of months, got {horizon_months!r}")
        if not 1 <= int(horizon_months) <= limit:
            raise DataError(f"horizon_months must be between 1 and {limit}, got {horizon_months}")
        return int(horizon_months)

    def _features(self, user_id: str) -> Mapping[str, Any]:
        if self._store is None:
            raise FeatureStoreError("no online store bound and no features passed: call bind_store first")
        row = self._store.get(_VIEW, user_id)
        if row is None:
            raise FeatureStoreError(
                f"user {user_id!r} has no fresh {_VIEW} features online; "
                "run `nivesh-ml features build` and `nivesh-ml features materialize`"
            )
        return row


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _category_rows(result: Forecast, categories: tuple[str, ...], wanted: list[str]) -> list[dict[str, Any]]:
    index = {name: i for i, name in enumerate(categories)}
    rows = []
    for h, month in enumerate(result.months):
        label = month.strftime("%Y-%m")
        for name in wanted:
            c = index[name]
            rows.append(
                {
                    "month": label,
                    "category": name,
                    "amount": round(float(result.amount[0, c, h]), 2),
                    "lower": round(float(result.lower[0, c, h]), 2),
                    "upper": round(float(result.upper[0, c, h]), 2),
                }
            )
    return rows


def _total_rows(result: Forecast) -> list[dict[str, Any]]:
    return [
        {
            "month": month.strftime("%Y-%m"),
            "amount": round(float(result.total[0, h]), 2),
            "lower": round(float(result.total_lower[0, h]), 2),
            "upper": round(float(result.total_upper[0, h]), 2),
        }
        for h, month in enumerate(result.months)
    ]
