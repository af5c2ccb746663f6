"""The exported bundle: ONNX fp32 matches torch, ONNX int8 agrees with it on the test split."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from nivesh_ml.models.intent.config import BUNDLE_FILES, DATA_DIR, LABELS
from nivesh_ml.models.intent.data import load_nivesh_splits
from nivesh_ml.models.intent.evaluate import with_fallback
from nivesh_ml.models.intent.export import CHECKPOINT_DIR
from nivesh_ml.models.intent.finetune import predict_proba
from nivesh_ml.models.intent.model import IntentClassifier


@pytest.fixture(scope="module")
def torch_and_onnx(session_model):
    """Probabilities on the test split from the torch checkpoint, ONNX fp32 and ONNX int8."""
    texts = list(load_nivesh_splits(DATA_DIR, LABELS).test["text"])
    checkpoint = session_model.bundle / CHECKPOINT_DIR
    model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint))
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    int8 = IntentClassifier.from_dir(session_model.bundle)
    fp32 = IntentClassifier.from_dir(session_model.bundle, onnx_file=BUNDLE_FILES["onnx_fp32"])
    return {
        "torch": predict_proba(model, tokenizer, texts, int8.spec.max_len),
        "fp32": fp32.probabilities(texts),
        "int8": int8.probabilities(texts),
        "spec": int8.spec,
    }


def test_onnx_fp32_reproduces_torch(torch_and_onnx) -> None:
    assert np.abs(torch_and_onnx["fp32"] - torch_and_onnx["torch"]).max() < 1e-4


def test_onnx_int8_agrees_with_torch_on_99_percent_of_the_test_split(torch_and_onnx) -> None:
    spec = torch_and_onnx["spec"]
    served = with_fallback(torch_and_onnx["int8"], spec.labels, spec.threshold, spec.out_of_scope)
    reference = with_fallback(torch_and_onnx["torch"], spec.labels, spec.threshold, spec.out_of_scope)
    assert np.mean(np.array(served) == np.array(reference)) >= 0.99
    argmax_agreement = np.mean(
        torch_and_onnx["int8"].argmax(axis=1) == torch_and_onnx["torch"].argmax(axis=1)
    )
    assert argmax_agreement >= 0.99


def test_onnx_takes_any_batch_size_and_length(session_model) -> None:
    classifier = IntentClassifier.from_dir(session_model.bundle)
    texts = ["hi", "what is my balance", "x " * 200]  # the last is truncated to max_len
    assert classifier.probabilities(texts).shape == (3, len(LABELS))
    assert classifier.probabilities(texts, batch_size=1).shape == (3, len(LABELS))
