"""Evaluate the assistant on chat JSONL: task scores of the generated calls, and held-out perplexity.

Per test record the model's answer is parsed with the tolerant extractor and checked against
the gold call (the record's last assistant turn):

- ``json_valid``: a JSON object of the call's shape was found in the answer;
- ``schema_valid``: its tool exists and its arguments pass that tool's schema after normalisation;
- ``tool_accuracy``: the tool name is the gold one;
- ``exact_match``: tool and every argument equal the gold call's. Structured arguments (amounts,
  periods, categories, accounts, names...) must be equal after normalisation; the two free-text
  ones, ``reply`` and ``transaction_hint``, count as equal at a word-level F1 of 0.5 or more;
- ``exact_match_calls``: the same over the examples whose gold answer is a real tool call (a free
  reply is the hardest thing to match word for word);
- ``argument_f1``: micro F1 over (argument, value) pairs, with the same notion of equal;
- ``reply_f1``: mean word F1 of ``no_tool`` replies; ``grounded_numbers``: share of the numbers
  in gold context answers that the reply repeats;
- ``loss`` and ``perplexity`` (the gate's metric, lower is better) on the answer tokens.

Module level is pure Python: the standalone GPU fine-tune imports it without MLflow.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nivesh_ml.models.assistant.data import ChatRecord, prompt_and_target, read_chat, spread
from nivesh_ml.models.assistant.tools import ToolCall, ToolCallError, extract_json, parse_call

if TYPE_CHECKING:
    from nivesh_ml.config import Settings
    from nivesh_ml.models.assistant.config import AssistantConfig
    from nivesh_ml.models.assistant.local import AssistantEngine

__all__ = ["FREE_TEXT", "engine_metrics", "evaluate", "run_standalone", "score_outputs", "word_f1"]

FREE_TEXT = frozenset({"reply", "transaction_hint"})
MATCH_F1 = 0.5
_WORD = re.compile(r"[\w₹]+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def word_f1(predicted: str, gold: str) -> float:
    """F1 of the multisets of lower-cased words of two texts."""
    pred, ref = _WORD.findall(predicted.lower()), _WORD.findall(gold.lower())
    if not pred or not ref:
        return float(pred == ref)
    common = sum(min(pred.count(w), ref.count(w)) for w in set(pred))
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def values_match(name: str, predicted: Any, gold: Any) -> bool:
    """Whether one argument's value equals the gold one (free text by word F1)."""
    if name in FREE_TEXT:
        return word_f1(str(predicted), str(gold)) >= MATCH_F1
    if isinstance(gold, float | int) and isinstance(predicted, float | int):
        return abs(float(predicted) - float(gold)) < 1e-6
    if isinstance(gold, str) and isinstance(predicted, str):
        return predicted.casefold() == gold.casefold()
    return bool(predicted == gold)


def _raw_name(output: str) -> str | None:
    value = extract_json(output)
    if value is None:
        return None
    name = value.get("name", value.get("tool"))
    return name if isinstance(name, str) else None


def _score_one(output: str, gold: ToolCall) -> dict[str, Any]:
    name = _raw_name(output)
    try:
        predicted = parse_call(output)
    except ToolCallError:
        predicted = None
    row: dict[str, Any] = {"json_valid": name is not None, "schema_valid": predicted is not None}
    row["tool"] = name == gold.name
    pairs = predicted.arguments if predicted is not None else {}
    hits = sum(1 for k, v in pairs.items() if k in gold.arguments and values_match(k, v, gold.arguments[k]))
    row.update(hits=hits, predicted_args=len(pairs), gold_args=len(gold.arguments))
    row["exact"] = bool(row["tool"] and predicted is not None and hits == len(pairs) == len(gold.arguments))
    if gold.name == "no_tool":
        reply = str(pairs.get("reply", "")) if row["tool"] else ""
        row["reply_f1"] = word_f1(reply, str(gold.arguments["reply"]))
        numbers = _NUMBER.findall(str(gold.arguments["reply"]))
        row["numbers"] = (sum(n in reply for n in numbers), len(numbers))
    return row


def score_outputs(golds: Sequence[str], outputs: Sequence[str]) -> dict[str, Any]:
    """Task metrics of model ``outputs`` against gold answers (each a call's JSON text)."""
    calls = [parse_call(gold) for gold in golds]
    rows = [_score_one(out, gold) for out, gold in zip(outputs, calls, strict=True) if gold is not None]
    n = max(len(rows), 1)
    calls_only = [
        r for r, call in zip(rows, [c for c in calls if c is not None], strict=True) if call.name != "no_tool"
    ]
    hits, predicted, gold_args = (sum(r[k] for r in rows) for k in ("hits", "predicted_args", "gold_args"))
    precision = hits / predicted if predicted else 0.0
    recall = hits / gold_args if gold_args else 0.0
    replies = [r["reply_f1"] for r in rows if "reply_f1" in r]
    numbers = [r["numbers"] for r in rows if "numbers" in r and r["numbers"][1]]
    metrics: dict[str, Any] = {
        "examples": len(rows),
        "json_valid": sum(r["json_valid"] for r in rows) / n,
        "schema_valid": sum(r["schema_valid"] for r in rows) / n,
        "tool_accuracy": sum(r["tool"] for r in rows) / n,
        "exact_match": sum(r["exact"] for r in rows) / n,
        "exact_match_calls": sum(r["exact"] for r in calls_only) / max(len(calls_only), 1),
        "argument_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "reply_f1": sum(replies) / len(replies) if replies else 0.0,
        "grounded_numbers": sum(a for a, _ in numbers) / max(sum(b for _, b in numbers), 1),
    }
    metrics["per_tool"] = _per_tool(rows, [c for c in calls if c is not None])
    return metrics


def _per_tool(rows: Sequence[dict[str, Any]], calls: Sequence[ToolCall]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row, call in zip(rows, calls, strict=True):
        groups[call.name].append(row)
    return {
        name: {
            "n": len(group),
            "tool_accuracy": sum(r["tool"] for r in group) / len(group),
            "exact_match": sum(r["exact"] for r in group) / len(group),
        }
        for name, group in sorted(groups.items())
    }


def engine_metrics(
    engine: AssistantEngine, records: Sequence[ChatRecord], *, with_outputs: bool = False
) -> dict[str, Any]:
    """Generate an answer to every record, score it, and add loss and perplexity."""
    prompts, golds = zip(*(prompt_and_target(record) for record in records), strict=True)
    outputs = engine.generate(list(prompts))
    metrics = score_outputs(list(golds), outputs)
    metrics["loss"] = engine.loss(records)
    metrics["perplexity"] = perplexity(metrics["loss"])
    if with_outputs:
        metrics["outputs"] = outputs
    return metrics


def perplexity(loss: float) -> float:
    """exp(loss), capped so a diverged run still logs a number."""
    return math.exp(min(loss, 50.0))


def flat(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric top-level metrics, optionally prefixed (``base_``), for MLflow."""
    return {prefix + k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def run_standalone(config: AssistantConfig, data_dir: Path, base: str, seed: int) -> dict[str, Any]:
    """Score the base, fine-tune, score again, on ``data_dir``'s splits; no MLflow, no app DB."""
    import torch

    from nivesh_ml.models.assistant.local import AssistantEngine, add_lora, train_lora

    splits = {name: read_chat(data_dir / f"{name}.jsonl") for name in ("train", "validation", "test")}
    test = spread(splits["test"], config.eval_examples)
    engine = AssistantEngine.load(base, None, config, training=True)
    started = time.perf_counter()
    before = engine_metrics(engine, test)
    base_eval_s = time.perf_counter() - started
    engine.model = add_lora(engine.model, config)

    def report(step: int, metrics: dict[str, float]) -> None:
        if step % config.eval_every == 0 or step == 1:
            print(json.dumps({"step": step, **{k: round(v, 5) for k, v in metrics.items()}}), flush=True)

    stats = train_lora(
        engine, splits["train"], spread(splits["validation"], config.val_examples), seed=seed, on_step=report
    )
    started = time.perf_counter()
    after = engine_metrics(engine, test)
    return {
        "device": engine.device,
        "gpu": torch.cuda.get_device_name(0) if engine.device.startswith("cuda") else None,
        "bf16": engine.bf16,
        "config": {k: v for k, v in asdict(config).items() if k != "vertex"},
        "train_rows": len(splits["train"]),
        "test_rows_scored": len(test),
        "trainable_params": stats.trainable_params,
        "steps": stats.steps,
        "train_seconds": round(stats.seconds, 2),
        "steps_per_s": round(stats.steps_per_s, 4),
        "base_eval_seconds": round(base_eval_s, 2),
        "tuned_eval_seconds": round(time.perf_counter() - started, 2),
        "val_loss": stats.val_loss,
        "base": before,
        "tuned": after,
    }


def evaluate(settings: Settings, data: Path, alias: str = "champion") -> dict[str, Any]:
    """Metrics of the registered assistant ``alias`` on a chat JSONL file."""
    from nivesh_ml.models.assistant.model import load_assistant

    records = read_chat(Path(data))
    served = load_assistant(settings, alias)
    return {**engine_metrics(served.engine, records), "version": served.version}
