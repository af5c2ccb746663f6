"""Fine-tuning a transformer encoder with a classification head (torch: the training side only).

The recipe: AdamW (the new head at its own, higher learning rate), a linear schedule with
warm-up, label smoothing, gradient clipping, batches of similar-length texts padded per batch,
and the epoch with the best validation accuracy kept. ``model.py`` never imports this module.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    get_linear_schedule_with_warmup,
)
from transformers.utils import logging as hf_logging

from nivesh_ml.errors import ConfigError
from nivesh_ml.log import get_logger
from nivesh_ml.models.intent.config import IntentConfig
from nivesh_ml.models.intent.data import perturb
from nivesh_ml.progress import item_progress

__all__ = [
    "EpochResult",
    "FineTuned",
    "fine_tune",
    "load_base",
    "predict_proba",
    "quiet_transformers",
    "torch_threads",
]

log = get_logger(__name__)

StepCallback = Callable[[int, float], None]  # (global step, training loss)
_HEAD_PARTS = ("classifier", "pooler")  # parameters that start untrained for this task
_NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight")
_SORT_WINDOW = 50  # batches per window sorted by length: less padding, still shuffled


@dataclass(frozen=True)
class EpochResult:
    """One epoch's mean training loss and validation accuracy."""

    epoch: int
    train_loss: float
    val_accuracy: float


@dataclass
class FineTuned:
    """The fine-tuned model (best epoch's weights, in eval mode), its tokenizer and its history."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    labels: tuple[str, ...]
    history: list[EpochResult] = field(default_factory=list)
    best_epoch: int = 0
    steps: int = 0
    seconds: float = 0.0


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the body with ``count`` intra-op threads, then restore the process's setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and info reports inside the body."""
    # Loading prints a progress bar and a "newly initialised head" report: expected, not news.
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity(logging.ERROR)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def load_base(config: IntentConfig, labels: Sequence[str]) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The base checkpoint with a fresh classification head over ``labels``, and its tokenizer."""
    folder = config.base_model
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{folder}: not a Hugging Face checkpoint folder (no config.json); fix base_model")
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(folder))  # nosec B615  # local folder, hub offline
        model = AutoModelForSequenceClassification.from_pretrained(  # nosec B615  # local folder, hub offline
            str(folder),
            num_labels=len(labels),
            id2label=dict(enumerate(labels)),
            label2id={label: index for index, label in enumerate(labels)},
        )
    return model, tokenizer


def fine_tune(
    config: IntentConfig,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    labels: Sequence[str],
    *,
    seed: int,
    on_step: StepCallback | None = None,
    on_epoch: Callable[[EpochResult], None] | None = None,
) -> FineTuned:
    """Fine-tune ``config.base_model`` on ``train``; keep the epoch best on ``validation``."""
    started = time.perf_counter()
    with torch_threads(config.train_threads):
        _seed_everything(seed)
        model, tokenizer = load_base(config, labels)
        result = FineTuned(model, tokenizer, tuple(labels))
        _run_epochs(config, result, train, validation, seed, on_step, on_epoch)
    result.seconds = time.perf_counter() - started
    return result


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _run_epochs(
    config: IntentConfig,
    result: FineTuned,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    seed: int,
    on_step: StepCallback | None,
    on_epoch: Callable[[EpochResult], None] | None,
) -> None:
    index = {label: i for i, label in enumerate(result.labels)}
    texts, targets = list(train["text"]), [index[label] for label in train["intent"]]
    val_targets = np.array([index[label] for label in validation["intent"]])
    total = _total_steps(config, len(texts))
    optimizer = _optimizer(result.model, config)
    scheduler = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, int(config.warmup_ratio * total), total
    )
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    rng, best_accuracy, best_state = random.Random(seed), -1.0, None  # nosec B311  # seeded shuffle
    lengths = [
        len(ids) for ids in result.tokenizer(texts, truncation=True, max_length=config.max_len)["input_ids"]
    ]
    with item_progress(f"fine-tuning on {len(texts):,} texts", total) as advance:
        for epoch in range(1, config.epochs + 1):
            losses: list[float] = []
            result.model.train()
            for batch in _batches(lengths, config.batch_size, rng):
                if result.steps >= total:
                    break
                loss = _step(
                    config, result, [texts[i] for i in batch], [targets[i] for i in batch], rng, loss_fn
                )
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                result.steps += 1
                losses.append(loss)
                advance(1)
                if on_step:
                    on_step(result.steps, loss)
            probs = predict_proba(result.model, result.tokenizer, list(validation["text"]), config.max_len)
            accuracy = float(np.mean(probs.argmax(axis=1) == val_targets))
            outcome = EpochResult(epoch, float(np.mean(losses)) if losses else math.nan, accuracy)
            result.history.append(outcome)
            log.info(
                "epoch done", extra={"epoch": epoch, "loss": outcome.train_loss, "val_accuracy": accuracy}
            )
            if on_epoch:
                on_epoch(outcome)
            if accuracy > best_accuracy:
                best_accuracy, result.best_epoch = accuracy, epoch
                best_state = {
                    name: value.detach().clone() for name, value in result.model.state_dict().items()
                }
            if result.steps >= total:
                break
    if best_state is not None:
        result.model.load_state_dict(best_state)
    result.model.train(False)


def _total_steps(config: IntentConfig, rows: int) -> int:
    total = config.epochs * math.ceil(rows / config.batch_size)
    return min(total, config.max_steps) if config.max_steps else total


def _optimizer(model: PreTrainedModel, config: IntentConfig) -> torch.optim.AdamW:
    groups: dict[tuple[bool, bool], list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        head = any(part in name for part in _HEAD_PARTS)
        decay = not any(part in name for part in _NO_DECAY)
        groups.setdefault((head, decay), []).append(parameter)
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "lr": config.head_learning_rate if head else config.learning_rate,
                "weight_decay": config.weight_decay if decay else 0.0,
            }
            for (head, decay), params in groups.items()
        ]
    )


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar-length rows: sort within windows, then shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * _SORT_WINDOW
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lengths.__getitem__)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _step(
    config: IntentConfig,
    result: FineTuned,
    texts: list[str],
    targets: list[int],
    rng: random.Random,
    loss_fn: torch.nn.CrossEntropyLoss,
) -> float:
    texts = [perturb(text, rng) if rng.random() < config.augment_prob else text for text in texts]
    encoded = result.tokenizer(
        texts, truncation=True, max_length=config.max_len, padding=True, return_tensors="pt"
    )
    logits = result.model(**encoded).logits
    loss = loss_fn(logits, torch.tensor(targets))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(result.model.parameters(), config.max_grad_norm)
    return float(loss.detach())


def predict_proba(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_len: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Softmax probabilities, one row per text (batched by length, returned in input order)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), int(model.config.num_labels or 0)), dtype=np.float32)
    was_training = model.training
    model.train(False)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            encoded = tokenizer(
                [texts[i] for i in rows],
                truncation=True,
                max_length=max_len,
                padding=True,
                return_tensors="pt",
            )
            out[rows] = torch.softmax(model(**encoded).logits.float(), dim=-1).numpy()
    model.train(was_training)
    return out
