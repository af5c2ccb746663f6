"""NER metrics: exact span and label matching, computed by hand; evaluate() on a registered version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spacy
from mlflow.models import infer_signature

from nivesh_ml.config import Settings
from nivesh_ml.errors import DataError, ModelNotFoundError
from nivesh_ml.models.ner.evaluate import entity_table, evaluate, score_spans
from nivesh_ml.models.ner.model import PIPELINE_ARTIFACT, NerModel, predict_frame
from nivesh_ml.models.ner.rules import RULER, load_patterns
from nivesh_ml.tracking.registry import promote
from nivesh_ml.tracking.runs import pip_requirements, start_training_run


def test_exact_span_and_label_by_hand() -> None:
    gold = [[(0, 4, "MONEY"), (8, 14, "MERCHANT")], [(3, 10, "DATE")]]
    predicted = [
        [(0, 4, "MONEY"), (8, 14, "ACCOUNT")],  # right span, wrong label: one FP and one FN
        [(0, 10, "DATE"), (11, 15, "MONEY")],  # preposition inside the DATE: FP + FN; a spurious MONEY
    ]
    metrics = score_spans(gold, predicted)
    # 4 predicted, 3 gold, 1 exact match: tp 1, fp 3, fn 2
    assert metrics["precision"] == pytest.approx(1 / 4)
    assert metrics["recall"] == pytest.approx(1 / 3)
    assert metrics["f1"] == pytest.approx(2 / 7)  # 2PR / (P + R) = (1/6) / (7/12)
    per = metrics["per_entity"]
    assert list(per) == ["MONEY", "DATE", "MERCHANT", "ACCOUNT"]  # guideline order
    assert per["MONEY"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
        "tp": 1,
        "fp": 1,
        "fn": 0,
    }
    assert (per["DATE"]["f1"], per["DATE"]["support"]) == (0.0, 1)
    assert per["ACCOUNT"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "tp": 0,
        "fp": 1,
        "fn": 0,
    }


def test_labels_restrict_the_count() -> None:
    metrics = score_spans([[(0, 4, "MONEY")]], [[(0, 4, "MONEY"), (5, 9, "ACCOUNT")]], labels=["MONEY"])
    assert (metrics["precision"], metrics["recall"]) == (1.0, 1.0)
    assert list(metrics["per_entity"]) == ["MONEY"]


def test_no_entities_anywhere_scores_zero_without_dividing_by_zero() -> None:
    assert score_spans([[]], [[]]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "per_entity": {}}


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="gold texts"):
        score_spans([[]], [])


def test_entity_table_has_a_row_per_entity_and_overall() -> None:
    table = entity_table(score_spans([[(0, 4, "MONEY")]], [[(0, 4, "MONEY")]]))
    assert "| MONEY | 1.000 | 1.000 | 1.000 | 1 |" in table
    assert "| overall | 1.000 | 1.000 | 1.000 | 1 |" in table


def _register_rules_only(settings: Settings, tmp_path: Path) -> str:
    """A version whose pipeline is the EntityRuler alone: its predictions are known in advance."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler", name=RULER)
    load_patterns(nlp)
    folder = tmp_path / PIPELINE_ARTIFACT
    nlp.to_disk(folder)
    example = predict_frame(["Paid ₹450"])
    signature = infer_signature(example, NerModel(nlp).predict(None, example))
    with start_training_run(settings, "ner") as run:
        version = run.log_model(
            NerModel(),
            signature=signature,
            input_example=example,
            artifacts={PIPELINE_ARTIFACT: str(folder)},
            requirements=pip_requirements("spacy"),
        )
    promote(settings, "ner", version.version, force=True)
    return version.version


def test_evaluate_scores_the_champion_on_a_file(settings: Settings, tmp_path: Path) -> None:
    version = _register_rules_only(settings, tmp_path)
    lines = [
        {
            "text": "Paid ₹450 to Swiggy",
            "entities": [[5, 9, "MONEY"], [13, 19, "MERCHANT"]],
        },  # ruler: MONEY only
        {"text": "Rs. 500 on 14-09-25", "entities": [[0, 7, "MONEY"], [8, 19, "DATE"]]},  # gold DATE has "on"
        {"text": "top 5 merchants", "entities": []},
    ]
    data = tmp_path / "tiny.jsonl"
    data.write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8"
    )
    metrics = evaluate(settings, data, "champion")
    # predicted: ₹450 MONEY (tp), Rs. 500 MONEY (tp), 14-09-25 DATE (fp); missed Swiggy, "on 14-09-25"
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == pytest.approx(2 / 4)
    assert metrics["f1"] == pytest.approx(4 / 7)
    assert metrics["per_entity"]["MONEY"]["f1"] == 1.0
    assert metrics["per_entity"]["DATE"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 1,
        "tp": 0,
        "fp": 1,
        "fn": 1,
    }
    assert (metrics["sentences"], metrics["model_version"]) == (3, version)
    json.dumps(metrics)  # JSON-able, for `evaluate --json`


def test_evaluate_without_a_champion_names_the_fix(settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "tiny.jsonl"
    data.write_text('{"text": "hi", "entities": []}\n', encoding="utf-8")
    with pytest.raises(ModelNotFoundError, match="nivesh-ml train ner"):
        evaluate(settings, data)


def test_evaluate_refuses_a_bad_file(settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hi", "entities": [[0, 9, "MONEY"]]}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:1"):
        evaluate(settings, data)
