"""LoRA capacity sweep of the assistant on a GPU: does more adapter capacity close the gap to the
targets (tool accuracy 0.90, exact match 0.75) that more steps did not?

Standalone like ``gpu_finetune.sh`` (torch, transformers, peft; no MLflow): for each recipe, load
the base, add the adapter, train, score the whole test split; print one JSON line per recipe and
write them all to ``$OUT/gpu_sweep.json``. Run from the repository root with ``src`` on
``PYTHONPATH`` and the SmolLM2 GGUF findable (see gpu_finetune.sh)::

    OUT=/tmp/out python3 loadtest/gpu_sweep.py
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

from nivesh_ml.models.assistant.base import ensure_base
from nivesh_ml.models.assistant.config import DATA_DIR, AssistantConfig
from nivesh_ml.models.assistant.data import read_chat, spread
from nivesh_ml.models.assistant.evaluate import engine_metrics
from nivesh_ml.models.assistant.local import AssistantEngine, add_lora, train_lora

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
RECIPES: dict[str, dict[str, object]] = {
    "r16-all-lr1e-3-500": {
        "lora_r": 16,
        "lora_alpha": 32,
        "target_modules": ALL_LINEAR,
        "learning_rate": 1e-3,
    },
    "r16-all-lr2e-3-500": {
        "lora_r": 16,
        "lora_alpha": 32,
        "target_modules": ALL_LINEAR,
        "learning_rate": 2e-3,
    },
}
KEYS = ("json_valid", "tool_accuracy", "exact_match", "exact_match_calls", "argument_f1", "perplexity")


def main() -> None:
    out = Path(os.environ.get("OUT", "var/gpu"))
    out.mkdir(parents=True, exist_ok=True)
    splits = {name: read_chat(DATA_DIR / f"{name}.jsonl") for name in ("train", "validation", "test")}
    base = ensure_base(Path("var/models")).path
    results = []
    for name, overrides in RECIPES.items():
        config = replace(AssistantConfig(), steps=500, batch_size=8, eval_every=100, eval_batch_size=32)
        config = replace(config, **overrides)  # type: ignore[arg-type]
        engine = AssistantEngine.load(base, None, config, training=True)
        engine.model = add_lora(engine.model, config)
        started = time.perf_counter()
        stats = train_lora(
            engine, splits["train"], spread(splits["validation"], config.val_examples), seed=42
        )
        train_s = time.perf_counter() - started
        tuned = engine_metrics(engine, splits["test"])
        row = {
            "recipe": name,
            "steps_per_s": round(stats.steps_per_s, 3),
            "train_seconds": round(train_s, 1),
            "trainable_params": stats.trainable_params,
            **{key: round(float(tuned[key]), 4) for key in KEYS},
            "config": {k: v for k, v in asdict(config).items() if k != "vertex"},
        }
        print(json.dumps({k: v for k, v in row.items() if k != "config"}), flush=True)
        results.append(row)
        (out / "gpu_sweep.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
