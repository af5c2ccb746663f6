"""Assistant latency: p50/p95 of ``serve()`` for typical tool calls, and what each speed-up buys.

Variants, each on the same requests (greedy decoding, 96-token limit):

- ``merged_bf16``: the served default, LoRA merged into the weights, bf16 where the CPU has it;
- ``merged_fp32``: the same in fp32;
- ``adapter_bf16``: LoRA kept as a separate peft layer (not merged);
- ``no_kv_cache``: merged bf16 with the KV cache off (every token recomputes the whole prefix);
- ``threads_2``: merged bf16 with two torch threads instead of one.

The adapter is the registered champion's (``NIVESH_HOME``), or ``--adapter DIR --base DIR``.
Run: ``.venv/bin/python loadtest/bench_assistant.py [--n 8]``; prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from nivesh_ml.config import Settings, load_settings
from nivesh_ml.models.assistant.config import AssistantConfig
from nivesh_ml.models.assistant.local import AssistantEngine
from nivesh_ml.models.assistant.model import AssistantModel, resolve_base

REQUESTS = [
    "what's my hdfc balance?",
    "pichle mahine food pe kitna kharcha hua",
    "set a grocery budget of 6k per month",
    "emi for 10 lakh at 9% for 5 years",
    "show my swiggy orders last week",
    "cibil score kitna hai",
    "save 50000 for a goa trip by december 2026",
    "someone took 2000 from my account via upi, not me",
]


def champion_artifacts(settings: Settings) -> tuple[str, str]:
    """The champion's adapter folder and base checkpoint path (downloaded from the registry)."""
    import mlflow

    from nivesh_ml.tracking.store import use_tracking

    use_tracking(settings)
    folder = Path(mlflow.artifacts.download_artifacts("models:/nivesh-assistant@champion"))
    meta = json.loads((folder / "artifacts" / "assistant.json").read_text())
    return str(folder / "artifacts" / "adapter"), resolve_base(meta["base"])


def _variant(name: str, base: str, adapter: str) -> tuple[AssistantModel, bool]:
    config = AssistantConfig(
        threads=2 if name == "threads_2" else 1,
        cpu_bf16=name != "merged_fp32",
        kv_cache=name != "no_kv_cache",
    )
    engine = AssistantEngine.load(base, adapter, config, merge=name != "adapter_bf16")
    return AssistantModel().use_engine(engine), engine.bf16


def _serve(model: AssistantModel, text: str) -> tuple[float, str]:
    torch.set_num_threads(model.engine.config.threads)  # process-wide: set it for each variant's turn
    started = time.perf_counter()
    result = model.serve({"messages": [{"role": "user", "content": text}]})
    return (time.perf_counter() - started) * 1000, result["tool"]


def _summary(times: list[float], tools: list[str], bf16: bool) -> dict[str, Any]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
        "bf16": bf16,
        "tools": tools[: len(REQUESTS)],
    }


def bench_assistant(
    n: int = 8, adapter: str | None = None, base: str | None = None, variants: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Latency figures of every variant on this machine.

    The variants take turns request by request, so a change in the machine's load (other jobs on a
    shared box) lands on all of them alike instead of on whichever ran last.
    """
    if adapter is None or base is None:
        adapter, base = champion_artifacts(load_settings())
    names = variants or ("merged_bf16", "merged_fp32", "adapter_bf16", "no_kv_cache", "threads_2")
    models = {name: _variant(name, base, adapter) for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    tools: dict[str, list[str]] = {name: [] for name in names}
    for model, _ in models.values():
        _serve(model, REQUESTS[0])  # warm-up
    for i in range(n):
        for name, (model, _) in models.items():
            elapsed, tool = _serve(model, REQUESTS[i % len(REQUESTS)])
            times[name].append(elapsed)
            tools[name].append(tool)
        print(f"round {i + 1}/{n}", file=sys.stderr)
    figures: dict[str, Any] = {"requests": n, "adapter": adapter, "base": base, "cpu_threads_default": 1}
    figures |= {name: _summary(times[name], tools[name], models[name][1]) for name in names}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="timed requests per variant")
    parser.add_argument("--adapter", help="a peft adapter folder (default: the champion's)")
    parser.add_argument("--base", help="its base checkpoint (default: the champion's)")
    parser.add_argument("--variants", help="comma-separated subset of the variants")
    args = parser.parse_args()
    variants = tuple(args.variants.split(",")) if args.variants else None
    print(json.dumps(bench_assistant(args.n, args.adapter, args.base, variants), indent=2))


if __name__ == "__main__":
    main()
