"""The served intent model: the decision rule, the bundle classifier, the pyfunc, no torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from nivesh_ml.errors import DataError
from nivesh_ml.models.intent.config import BUNDLE_FILES, LABELS, OUT_OF_SCOPE
from nivesh_ml.models.intent.model import IntentClassifier, IntentModel, LabelSpec, decide, softmax

SPEC = LabelSpec(
    labels=("a", "b", "c", "d", OUT_OF_SCOPE), threshold=0.5, max_len=16, out_of_scope=OUT_OF_SCOPE
)


def test_softmax_rows_sum_to_one_even_for_large_logits() -> None:
    probs = softmax(np.array([[1000.0, 1000.0, 0.0], [1.0, 2.0, 3.0]]))
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert probs[0, 0] == pytest.approx(0.5)


def test_decide_answers_the_best_intent_with_three_alternatives() -> None:
    answer = decide(np.array([0.7, 0.1, 0.08, 0.07, 0.05]), SPEC)
    assert answer["intent"] == "a"
    assert answer["confidence"] == pytest.approx(0.7)
    assert [alt["intent"] for alt in answer["alternatives"]] == ["b", "c", "d"]
    assert set(answer["alternatives"][0]) == {"intent", "confidence"}


def test_decide_falls_back_below_the_threshold() -> None:
    answer = decide(np.array([0.4, 0.3, 0.2, 0.05, 0.05]), SPEC)
    assert answer["intent"] == OUT_OF_SCOPE
    assert answer["confidence"] == pytest.approx(0.6)
    # the best in-scope guess is still offered
    assert answer["alternatives"][0] == {"intent": "a", "confidence": 0.4}


def test_decide_keeps_the_model_s_own_out_of_scope_answer() -> None:
    answer = decide(np.array([0.1, 0.05, 0.05, 0.0, 0.8]), SPEC)
    assert answer == {
        "intent": OUT_OF_SCOPE,
        "confidence": 0.8,
        "alternatives": [
            {"intent": "a", "confidence": 0.1},
            {"intent": "b", "confidence": 0.05},
            {"intent": "c", "confidence": 0.05},
        ],
    }


def test_decide_without_a_fallback_class_never_falls_back() -> None:
    spec = LabelSpec(labels=("x", "y"), threshold=0.0, max_len=16, out_of_scope=None)
    assert decide(np.array([0.51, 0.49]), spec)["intent"] == "x"


def test_label_spec_round_trips(tmp_path: Path) -> None:
    SPEC.write(tmp_path / "labels.json")
    assert LabelSpec.read(tmp_path / "labels.json") == SPEC


def test_classifier_answers_one_text_and_batches_alike(session_model) -> None:
    classifier = IntentClassifier.from_dir(session_model.bundle)
    texts = ["What's my HDFC balance?", "hi", "Show my Swiggy orders from last week please"]
    one_by_one = [classifier.classify(text) for text in texts]
    batched = classifier.classify_many(texts)
    assert [a["intent"] for a in one_by_one] == [b["intent"] for b in batched]
    # dynamic int8 quantises activations per batch (padding included), so scores move a little
    for a, b in zip(one_by_one, batched, strict=True):
        assert a["confidence"] == pytest.approx(b["confidence"], abs=0.05)
    assert classifier.labels == LABELS
    assert all(answer["intent"] in LABELS for answer in one_by_one)


def _save_pyfunc(bundle: Path, target: Path) -> Path:
    artifacts = {name: str(bundle / BUNDLE_FILES[name]) for name in ("onnx", "tokenizer", "labels")}
    mlflow.pyfunc.save_model(str(target), python_model=IntentModel(), artifacts=artifacts)
    return target


def test_pyfunc_predicts_a_frame_and_serves_a_request(session_model, tmp_path: Path) -> None:
    loaded = mlflow.pyfunc.load_model(str(_save_pyfunc(session_model.bundle, tmp_path / "pyfunc")))
    frame = loaded.predict(pd.DataFrame({"text": ["what is my balance", "tell me a joke"]}))
    assert list(frame.columns) == ["intent", "confidence", "alternatives"]
    assert len(frame) == 2
    served = loaded.unwrap_python_model().serve({"query": "what is my balance"})
    assert set(served) == {"intent", "confidence", "alternatives"}
    assert len(served["alternatives"]) == 3
    with pytest.raises(DataError):
        loaded.unwrap_python_model().serve({"query": "  "})


def test_serving_never_imports_torch(session_model, tmp_path: Path) -> None:
    """A fresh process loads the pyfunc and answers without torch or transformers in sys.modules."""
    folder = _save_pyfunc(session_model.bundle, tmp_path / "pyfunc")
    script = textwrap.dedent(
        f"""
        import json, sys
        import mlflow.pyfunc
        model = mlflow.pyfunc.load_model({str(folder)!r})
        answer = model.unwrap_python_model().classify("how much did I spend on food")
        print(json.dumps({{"answer": answer, "torch": "torch" in sys.modules,
                          "transformers": "transformers" in sys.modules}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["answer"]["intent"] in LABELS
    assert result["torch"] is False
    assert result["transformers"] is False
