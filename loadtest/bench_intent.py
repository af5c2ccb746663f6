"""Intent model latency: one query at a time through torch fp32, ONNX fp32 and ONNX int8.

Each engine answers every test-split query once, one at a time, end to end (tokenise, run,
softmax, decide), on 1 and on 2 intra-op threads; p50/p95/p99 are over those single-query
latencies. Run it with ``python loadtest/bench_intent.py [--bundle DIR]``: DIR is a trained
bundle (``var/models/intent/<run_id>``, with its ``checkpoint/``); without it the base model with
a fresh 15-way head is exported to a temporary folder (latency depends on the architecture and
the queries, not on the weights). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from nivesh_ml.models.intent.config import BUNDLE_FILES, DATA_DIR, LABELS, OUT_OF_SCOPE, IntentConfig
from nivesh_ml.models.intent.data import load_labelled
from nivesh_ml.models.intent.export import CHECKPOINT_DIR, export_bundle
from nivesh_ml.models.intent.finetune import FineTuned, load_base, quiet_transformers
from nivesh_ml.models.intent.model import IntentClassifier, LabelSpec, decide, softmax

WARMUP = 20
THREADS = (1, 2)


def _percentiles(seconds: Sequence[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(statistics.fmean(ms)),
    }


def _time_each(answer: Callable[[str], dict[str, Any]], queries: Sequence[str]) -> dict[str, float]:
    for text in queries[:WARMUP]:
        answer(text)
    latencies = []
    for text in queries:
        started = time.perf_counter()
        answer(text)
        latencies.append(time.perf_counter() - started)
    return _percentiles(latencies)


def _torch_answer(checkpoint: Path, spec: LabelSpec) -> Callable[[str], dict[str, Any]]:
    with quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint)).train(False)
        tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))

    def answer(text: str) -> dict[str, Any]:
        with torch.inference_mode():
            encoded = tokenizer(text, truncation=True, max_length=spec.max_len, return_tensors="pt")
            logits = model(**encoded).logits.numpy()
        return decide(softmax(logits)[0], spec)

    return answer


def _fresh_bundle(folder: Path) -> Path:
    config = IntentConfig()
    model, tokenizer = load_base(config, LABELS)
    spec = LabelSpec(LABELS, 0.5, config.max_len, OUT_OF_SCOPE, config.top_k)
    export_bundle(FineTuned(model, tokenizer, LABELS), folder, spec)
    return folder


def bench_intent(bundle: Path | None = None, queries: Sequence[str] | None = None) -> dict[str, Any]:
    """Single-query latency figures of every engine and thread count, plus file sizes."""
    texts = list(queries or load_labelled(DATA_DIR / "test.jsonl")["text"])
    with tempfile.TemporaryDirectory(prefix="nivesh-bench-intent-") as scratch:
        folder = bundle or _fresh_bundle(Path(scratch) / "bundle")
        spec = LabelSpec.read(folder / BUNDLE_FILES["labels"])
        figures: dict[str, Any] = {
            "queries": len(texts),
            "bundle": str(bundle) if bundle else "base model, fresh head",
            "load_average_1m": os.getloadavg()[0],
            "onnx_fp32_mb": (folder / BUNDLE_FILES["onnx_fp32"]).stat().st_size / 2**20,
            "onnx_int8_mb": (folder / BUNDLE_FILES["onnx"]).stat().st_size / 2**20,
        }
        before = torch.get_num_threads()
        for threads in THREADS:
            torch.set_num_threads(threads)
            engines: dict[str, Callable[[str], dict[str, Any]]] = {
                "torch_fp32": _torch_answer(folder / CHECKPOINT_DIR, spec),
                "onnx_fp32": IntentClassifier.from_dir(
                    folder, threads=threads, onnx_file=BUNDLE_FILES["onnx_fp32"]
                ).classify,
                "onnx_int8": IntentClassifier.from_dir(folder, threads=threads).classify,
            }
            for engine, answer in engines.items():
                for name, value in _time_each(answer, texts).items():
                    figures[f"{engine}_{threads}t_{name}"] = value
        torch.set_num_threads(before)
    return figures


def main(argv: list[str]) -> int:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="a trained bundle folder (default: fresh head)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(json.dumps(bench_intent(args.bundle), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
