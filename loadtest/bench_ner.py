"""Latency of the NER model's hot path: ``extract(text)`` per sentence on one thread.

Run ``python loadtest/bench_ner.py [--pipeline DIR] [--alias champion] [--repeats N]``; it prints
one JSON object: sentences, calls, wall-clock p50_ms, p95_ms, p99_ms, mean_ms, max_ms, the calling
thread's CPU time cpu_p50_ms and cpu_p95_ms (the cost of a call when other work shares the cores),
batch_sentences_per_s (``nlp.pipe`` over the same sentences), the 1-minute load average, the
pipeline's components and the model version.

Without ``--pipeline`` it loads the registered version under ``--alias`` from the configured
NIVESH_HOME (train it first with ``nivesh-ml train ner``). The sentences are data/ner's
hand-written test split (user messages and pasted bank SMS, 4 to 30 words). BLAS and OpenMP
are held to one thread (threadpoolctl); spaCy's ops run on the calling thread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from nivesh_ml.config import load_settings
from nivesh_ml.models.ner.config import DEFAULT_DATA_DIR
from nivesh_ml.models.ner.data import read_examples
from nivesh_ml.models.ner.model import NerModel, load_ner_model, load_pipeline

__all__ = ["bench_ner"]

WARMUP_CALLS = 50


def _model(pipeline: Path | None, alias: str) -> NerModel:
    if pipeline is not None:
        return NerModel(load_pipeline(pipeline))
    settings = load_settings()
    settings.export_offline_env()
    return load_ner_model(settings, alias)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bench_ner(pipeline: Path | None = None, alias: str = "champion", repeats: int = 5) -> dict[str, Any]:
    """Time ``extract`` on every test sentence ``repeats`` times (after a warm-up); return the figures."""
    with threadpool_limits(limits=1):  # BLAS/OpenMP on one thread, as one server worker per request
        return _bench(_model(pipeline, alias), repeats)


def _bench(model: NerModel, repeats: int) -> dict[str, Any]:
    texts = [example.text for example in read_examples(DEFAULT_DATA_DIR / "test.jsonl")]
    for text in texts[:WARMUP_CALLS]:
        model.extract(text)
    latencies: list[float] = []
    cpu: list[float] = []  # CPU time of the calling thread: what the call costs when cores are shared
    for _ in range(repeats):
        for text in texts:
            started, started_cpu = time.perf_counter(), time.thread_time()
            model.extract(text)
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
    started = time.perf_counter()
    list(model.nlp.pipe(texts * repeats, batch_size=64))
    batch_seconds = time.perf_counter() - started
    return {
        "sentences": len(texts),
        "calls": len(latencies),
        "mean_words": round(statistics.mean(len(text.split()) for text in texts), 1),
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p95_ms": round(_percentile(latencies, 0.95), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "mean_ms": round(statistics.mean(latencies), 3),
        "max_ms": round(max(latencies), 3),
        "cpu_p50_ms": round(_percentile(cpu, 0.50), 3),
        "cpu_p95_ms": round(_percentile(cpu, 0.95), 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "batch_sentences_per_s": round(len(texts) * repeats / batch_seconds, 1),
        "pipeline": list(model.nlp.pipe_names),
        "model_version": model.model_version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", type=Path, default=None, help="A saved spaCy pipeline folder.")
    parser.add_argument("--alias", default="champion", help="Registry alias (without --pipeline).")
    parser.add_argument("--repeats", type=int, default=5, help="Passes over the sentences.")
    args = parser.parse_args()
    print(json.dumps(bench_ner(args.pipeline, args.alias, args.repeats)))


if __name__ == "__main__":
    main()
