"""The three fine-tuning formats, each checked against its documented schema (pydantic models).

- Hugging Face chat: ``{"messages": [{"role", "content"}]}``;
- Vertex AI Gemini supervised tuning: ``{"systemInstruction"?: Content, "contents": [Content]}``,
  Content = ``{"role": "user"|"model", "parts": [{"text"}]}``, the last turn the model's;
- OpenAI chat fine-tuning with tools: ``{"messages": [...], "tools"?: [...], "parallel_tool_calls"?}``,
  an assistant message with ``content`` or ``tool_calls`` (function arguments a JSON string).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nivesh_ml.models.assistant.data import read_chat
from nivesh_ml.models.assistant.exports import convert, openai_tools, to_openai, to_vertex, write_exports
from nivesh_ml.models.assistant.tools import TOOLS, parse_call

DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "assistant"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Hugging Face chat --------------------------------------------------------------------------


class HFMessage(Strict):
    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class HFRecord(Strict):
    messages: list[HFMessage] = Field(min_length=2)

    @model_validator(mode="after")
    def _ends_with_assistant(self) -> HFRecord:
        assert self.messages[-1].role == "assistant"
        return self


# --- Vertex AI Gemini ---------------------------------------------------------------------------


class GeminiPart(Strict):
    text: str = Field(min_length=1)


class GeminiContent(Strict):
    role: Literal["user", "model"]
    parts: list[GeminiPart] = Field(min_length=1)


class GeminiSystem(Strict):
    role: str | None = None  # ignored by Vertex
    parts: list[GeminiPart] = Field(min_length=1)


class GeminiExample(Strict):
    systemInstruction: GeminiSystem | None = None  # noqa: N815 (the format's name)
    contents: list[GeminiContent] = Field(min_length=2)

    @model_validator(mode="after")
    def _turns(self) -> GeminiExample:
        assert self.contents[0].role == "user"
        assert self.contents[-1].role == "model"
        return self


# --- OpenAI -------------------------------------------------------------------------------------


class OpenAIFunctionCall(Strict):
    name: str
    arguments: str

    @field_validator("arguments")
    @classmethod
    def _json_object(cls, value: str) -> str:
        assert isinstance(json.loads(value), dict)
        return value


class OpenAIToolCall(Strict):
    id: str
    type: Literal["function"]
    function: OpenAIFunctionCall


class OpenAIMessage(Strict):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[OpenAIToolCall] | None = None

    @model_validator(mode="after")
    def _has_something(self) -> OpenAIMessage:
        assert self.content or (self.role == "assistant" and self.tool_calls)
        return self


class OpenAIFunction(Strict):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any]


class OpenAITool(Strict):
    type: Literal["function"]
    function: OpenAIFunction


class OpenAIExample(Strict):
    messages: list[OpenAIMessage] = Field(min_length=2)
    tools: list[OpenAITool] | None = None
    parallel_tool_calls: bool | None = None


@pytest.fixture(scope="module")
def train() -> list[dict[str, Any]]:
    return read_chat(DATA_DIR / "train.jsonl")


def test_hf_export_matches_its_schema(train: list[dict[str, Any]]) -> None:
    for row in convert(train, "hf"):
        HFRecord.model_validate(row)


def test_vertex_export_matches_its_schema(train: list[dict[str, Any]]) -> None:
    rows = convert(train, "vertex")
    for row in rows:
        GeminiExample.model_validate(row)
    first = to_vertex(train[0])
    assert first["systemInstruction"]["parts"][0]["text"] == train[0]["messages"][0]["content"]
    assert first["contents"][-1]["parts"][0]["text"] == train[0]["messages"][-1]["content"]


def test_openai_export_matches_its_schema(train: list[dict[str, Any]]) -> None:
    rows = convert(train, "openai")
    for row in rows:
        OpenAIExample.model_validate(row)
    names = {tool["function"]["name"] for tool in openai_tools()}
    assert names == set(TOOLS) - {"no_tool"}


def test_openai_tool_calls_carry_the_normalised_arguments(train: list[dict[str, Any]]) -> None:
    for index, record in enumerate(train[:80]):
        gold = parse_call(record["messages"][-1]["content"])
        assert gold is not None
        answer = to_openai(record, index)["messages"][-1]
        if gold.name == "no_tool":
            assert answer["content"] == gold.arguments["reply"]
            assert "tool_calls" not in answer
        else:
            function = answer["tool_calls"][0]["function"]
            assert function["name"] == gold.name
            assert json.loads(function["arguments"]) == gold.arguments


def test_write_exports(tmp_path: Path, train: list[dict[str, Any]]) -> None:
    paths = write_exports({"train": train[:5], "validation": train[5:8]}, tmp_path)
    assert sorted(paths) == sorted(
        f"{f}_{s}" for f in ("hf", "vertex", "openai") for s in ("train", "validation")
    )
    assert len(paths["vertex_train"].read_text().splitlines()) == 5
    with pytest.raises(ValueError, match="unknown format"):
        convert(train[:1], "anthropic")
