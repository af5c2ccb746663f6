"""Intent metrics, the out-of-scope threshold, report figures and ``evaluate`` on a file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from nivesh_ml.models.intent.config import OUT_OF_SCOPE
from nivesh_ml.models.intent.evaluate import (
    calibrate_threshold,
    classification_metrics,
    confusion_figure,
    evaluate,
    report_markdown,
    with_fallback,
)

OOS = OUT_OF_SCOPE


def test_metrics_on_a_hand_checked_example() -> None:
    truth = ["a", "a", "b", OOS, OOS]
    predicted = ["a", "b", "b", OOS, "a"]
    metrics = classification_metrics(truth, predicted)
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["oos_recall"] == pytest.approx(1 / 2)
    assert metrics["per_intent"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert metrics["per_intent"]["b"]["precision"] == pytest.approx(0.5)
    # macro F1 over the labels present in the truth: a 0.5, b 2/3, oos 2/3
    assert metrics["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    json.dumps(metrics)  # JSON-able for `evaluate --json`


def test_metrics_without_out_of_scope_rows_have_no_oos_recall() -> None:
    assert "oos_recall" not in classification_metrics(["a", "b"], ["a", "a"])


def test_fallback_applies_under_the_threshold_only() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8]])
    labels = ["a", "b", OOS]
    assert with_fallback(probs, labels, 0.5, OOS) == ["a", OOS, OOS]
    assert with_fallback(probs, labels, 0.5, None) == ["a", "a", OOS]


def test_threshold_is_the_most_accurate_one_that_keeps_oos_recall() -> None:
    labels = ["a", "b", OOS]
    # sure in-scope rows, one unsure in-scope row (0.45), an OOS row mistaken for "a" (0.6) and
    # a right but not sure in-scope row (0.7)
    probs = np.array(
        [[0.95, 0.03, 0.02], [0.03, 0.95, 0.02], [0.45, 0.4, 0.15], [0.6, 0.3, 0.1], [0.7, 0.2, 0.1]]
    )
    truth = ["a", "b", "a", OOS, "a"]
    free = calibrate_threshold(probs, truth, labels, min_oos_recall=0.0)
    # no fallback at all is as accurate as any: the lowest interval's midpoint wins the tie
    assert (free.value, free.accuracy, free.oos_recall) == (pytest.approx(0.225), 0.8, 0.0)
    floor = calibrate_threshold(probs, truth, labels, min_oos_recall=1.0)
    # the 0.6 row must fall back, which takes the 0.45 row with it; the 0.7 row stays
    assert (floor.value, floor.accuracy, floor.oos_recall) == (pytest.approx(0.65), 0.8, 1.0)


def test_confusion_figure_and_markdown_report() -> None:
    truth, predicted = ["a", "b", OOS], ["a", "a", OOS]
    figure = confusion_figure(truth, predicted, ["a", "b", OOS])
    assert isinstance(figure, Figure)
    report = report_markdown("t", classification_metrics(truth, predicted), truth, predicted)
    assert "| a | 0.500 | 1.000 | 0.667 | 1 |" in report
    assert "accuracy" in report


def test_evaluate_scores_the_champion_on_jsonl_and_csv(session_model, tmp_path: Path) -> None:
    rows = [
        {"text": "What's the balance in my SBI savings account?", "intent": "account_balance"},
        {"text": "Who won the cricket match yesterday?", "intent": OOS},
    ]
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    csv = tmp_path / "q.csv"
    csv.write_text(
        "text,intent\n" + "\n".join(f'"{r["text"]}",{r["intent"]}' for r in rows) + "\n", encoding="utf-8"
    )
    from_jsonl = evaluate(session_model.settings, jsonl)
    from_csv = evaluate(session_model.settings, csv, "champion")
    assert from_jsonl == from_csv
    assert from_jsonl["model_version"] == session_model.version
    assert {"accuracy", "macro_f1", "oos_recall", "per_intent"} <= set(from_jsonl)
    json.dumps(from_jsonl)
