"""The served intent model: ONNX int8 encoder + tokenizer, the out-of-scope rule, an MLflow pyfunc.

This module imports neither torch nor transformers: serving needs only ``onnxruntime`` and
``tokenizers`` (the bundle's ``tokenizer.json``), so a server process stays small and starts fast.

A bundle is a folder (see ``config.BUNDLE_FILES``) holding ``model.int8.onnx`` (logits over the
labels), ``tokenizer.json`` and ``labels.json`` (labels, calibrated threshold, max length).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext
from tokenizers import Tokenizer

from nivesh_ml.errors import DataError
from nivesh_ml.models.intent.config import BUNDLE_FILES

__all__ = ["IntentClassifier", "IntentModel", "LabelSpec", "decide", "softmax"]

_ROUND = 4  # decimals of a confidence in a response


@dataclass(frozen=True)
class LabelSpec:
    """What ``labels.json`` holds: the output order, the fallback class and when to fall back."""

    labels: tuple[str, ...]
    threshold: float  # below this top probability the answer is the fallback (0 = never)
    max_len: int
    out_of_scope: str | None  # None for a label set without a fallback (BANKING77)
    top_k: int = 3

    @classmethod
    def read(cls, path: Path) -> LabelSpec:
        """Read ``labels.json``."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            labels=tuple(raw["labels"]),
            threshold=float(raw["threshold"]),
            max_len=int(raw["max_len"]),
            out_of_scope=raw.get("out_of_scope"),
            top_k=int(raw.get("top_k", 3)),
        )

    def write(self, path: Path) -> None:
        """Write ``labels.json``."""
        path.write_text(json.dumps(vars(self), indent=2) + "\n", encoding="utf-8")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True))


def decide(probs: np.ndarray, spec: LabelSpec) -> dict[str, Any]:
    """The response for one row of probabilities: intent, confidence and the top-k alternatives.

    The answer is ``out_of_scope`` when the model says so or when its best probability is under
    the calibrated threshold; the confidence is then the probability mass *not* on the best
    in-scope intent. Alternatives are the next most likely labels, best first.
    """
    order = np.argsort(-probs, kind="stable")
    best = spec.labels[int(order[0])]
    top = float(probs[order[0]])
    if spec.out_of_scope is not None and best != spec.out_of_scope and top < spec.threshold:
        intent, confidence = spec.out_of_scope, 1.0 - top
    else:
        intent, confidence = best, top
    alternatives = [
        {"intent": spec.labels[int(i)], "confidence": round(float(probs[i]), _ROUND)}
        for i in order
        if spec.labels[int(i)] != intent
    ][: spec.top_k]
    return {"intent": intent, "confidence": round(confidence, _ROUND), "alternatives": alternatives}


class IntentClassifier:
    """An exported bundle loaded for inference: ``classify(text)`` is the server's hot path."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, labels_path: Path, *, threads: int = 1) -> None:
        self.spec = LabelSpec.read(labels_path)
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_length=self.spec.max_len)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self._inputs = {node.name for node in self.session.get_inputs()}

    @classmethod
    def from_dir(cls, folder: Path, *, threads: int = 1, onnx_file: str | None = None) -> IntentClassifier:
        """Load a bundle folder (``onnx_file`` picks another ONNX file in it, e.g. the fp32 one)."""
        return cls(
            folder / (onnx_file or BUNDLE_FILES["onnx"]),
            folder / BUNDLE_FILES["tokenizer"],
            folder / BUNDLE_FILES["labels"],
            threads=threads,
        )

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels in output order."""
        return self.spec.labels

    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Softmax probabilities, one row per text."""
        rows = [self._run([text]) for text in texts] if batch_size == 1 else self._batched(texts, batch_size)
        return np.concatenate(rows) if rows else np.zeros((0, len(self.labels)), dtype=np.float32)

    def _batched(self, texts: Sequence[str], batch_size: int) -> list[np.ndarray]:
        return [self._run(texts[start : start + batch_size]) for start in range(0, len(texts), batch_size)]

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        (logits,) = self.session.run(["logits"], feeds)
        return softmax(np.asarray(logits, dtype=np.float32))

    def classify(self, text: str) -> dict[str, Any]:
        """``{"intent", "confidence", "alternatives": [{"intent", "confidence"}, ...]}`` for one text."""
        return decide(self._run([text])[0], self.spec)

    def classify_many(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """:meth:`classify` for many texts, run in batches."""
        return [decide(row, self.spec) for row in self.probabilities(texts)]


class IntentModel(PythonModel):
    """The registered pyfunc: ``predict`` takes a frame with a ``text`` (or ``query``) column.

    Artefacts: ``onnx`` (the int8 model), ``tokenizer`` (tokenizer.json), ``labels`` (labels.json).
    The output frame has ``intent`` (str), ``confidence`` (float) and ``alternatives`` (a list of
    ``{"intent", "confidence"}``). The server calls :meth:`serve` with the request body.
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self.classifier: IntentClassifier | None = None

    def load_context(self, context: PythonModelContext) -> None:
        """Open the ONNX session and the tokenizer from the logged artefacts."""
        paths = {name: Path(path) for name, path in context.artifacts.items()}
        self.classifier = IntentClassifier(
            paths["onnx"], paths["tokenizer"], paths["labels"], threads=self.threads
        )

    def _loaded(self) -> IntentClassifier:
        if self.classifier is None:
            raise RuntimeError("IntentModel used before load_context")
        return self.classifier

    def predict(
        self, context: PythonModelContext | None, model_input: pd.DataFrame, params: Any = None
    ) -> pd.DataFrame:
        """One row per input text: intent, confidence, alternatives."""
        column = "text" if "text" in model_input.columns else "query"
        if column not in model_input.columns:
            raise DataError("intent model input needs a 'text' (or 'query') column")
        texts = [str(text) for text in model_input[column]]
        return pd.DataFrame(
            self._loaded().classify_many(texts), columns=["intent", "confidence", "alternatives"]
        )

    def classify(self, text: str) -> dict[str, Any]:
        """The fast path for one text."""
        return self._loaded().classify(text)

    def serve(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``{"query": str}`` -> ``{"intent", "confidence", "alternatives"}``; the server adds the rest."""
        query = request.get("query")
        if not isinstance(query, str) or not query.strip():
            raise DataError("'query' must be a non-empty string")
        return self.classify(query)
