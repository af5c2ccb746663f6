"""The retraining pipeline's bookkeeping: resume at the failed step with the context kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

from nivesh_ml.config import Settings
from nivesh_ml.errors import SchemaError
from nivesh_ml.pipelines.retrain import STEPS, Step, extract, run_pipeline, state_path, validate_data


def test_steps_are_in_order() -> None:
    assert [step.name for step in STEPS] == ["extract", "validate", "features", "train", "deploy"]


def test_a_failed_run_resumes_at_the_failed_step(make_settings: Any) -> None:
    settings: Settings = make_settings(users=30, months=2)
    calls: list[str] = []
    flaky = {"fail": True}

    def count(name: str, step: Any) -> Any:
        def run(s: Settings, model: str, context: Mapping[str, Any]) -> dict[str, Any]:
            calls.append(name)
            return dict(step(s, model, context))

        return run

    def sometimes(s: Settings, model: str, context: Mapping[str, Any]) -> dict[str, Any]:
        calls.append("flaky")
        if flaky["fail"]:
            raise RuntimeError("store briefly down")
        assert context["data_version"]  # the context of the finished steps survived
        return {"flaky": "ok"}

    steps = (Step("extract", count("extract", extract)), Step("validate", count("validate", validate_data)))
    steps += (Step("flaky", sometimes),)
    with pytest.raises(RuntimeError, match="briefly down"):
        run_pipeline(settings, "credit-risk", steps=steps)
    assert state_path(settings, "credit-risk").exists()
    flaky["fail"] = False
    result = run_pipeline(settings, "credit-risk", steps=steps)
    assert calls == ["extract", "validate", "flaky", "flaky"]
    assert result.ran == ["flaky"]
    assert result.context["flaky"] == "ok"
    assert result.context["validated_rows"]["users"] == 30
    assert not state_path(settings, "credit-risk").exists()  # a finished run leaves nothing to resume


def test_validation_stops_the_pipeline_on_bad_data(make_settings: Any) -> None:
    settings: Settings = make_settings(users=30, months=2)
    extract(settings, "credit-risk", {})
    users = settings.data_dir / "synthetic" / "users.parquet"
    frame = pd.read_parquet(users)
    frame.loc[0, "age"] = 5  # below the schema's 21..70
    frame.to_parquet(users, index=False)
    with pytest.raises(SchemaError, match="age"):
        validate_data(settings, "credit-risk", {})
