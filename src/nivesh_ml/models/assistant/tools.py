"""The assistant's tools: their JSON schemas, the canonical call format, and argument normalisation.

The model answers every user turn with one JSON object, ``{"name": TOOL, "arguments": {...}}``,
where TOOL is one of :data:`TOOLS` (``no_tool`` carries a plain reply). Arguments are normalised
to one spelling (:mod:`.normalise`: ``5 lakh`` -> 500000, ``pichle mahine`` -> ``last_month``)
and checked against the tool's JSON schema before they are compared or executed.

Pure Python on purpose (no pydantic, no torch): the standalone GPU fine-tune imports it on a
machine that has only torch, transformers and peft.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nivesh_ml.models.assistant.normalise import (
    BUDGET_PERIODS,
    CATEGORIES,
    DEADLINE_PATTERN,
    NORMALISERS,
    PERIODS,
    ToolCallError,
    parse_amount,
)

__all__ = [
    "BUDGET_PERIODS",
    "CATEGORIES",
    "PERIODS",
    "TOOLS",
    "Param",
    "ToolCall",
    "ToolCallError",
    "ToolSpec",
    "json_schema",
    "normalise_arguments",
    "parse_amount",
    "parse_call",
    "schema_errors",
]


@dataclass(frozen=True)
class Param:
    """One argument of a tool: its name, its kind (which fixes schema and normaliser), whether required."""

    name: str
    kind: str
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class ToolSpec:
    """A tool the assistant may call."""

    name: str
    description: str
    params: tuple[Param, ...] = ()

    def signature(self) -> str:
        """``name(arg, optional?)``, as the system prompt lists it."""
        args = ", ".join(p.name + ("" if p.required else "?") for p in self.params)
        return f"{self.name}({args})"


_TOOL_LIST = (
    ToolSpec("get_balance", "Balance of one account, or of all.", (Param("account", "account", False),)),
    ToolSpec(
        "spending_summary",
        "Total spend, optionally in one category, over a period.",
        (Param("category", "category", False), Param("period", "period")),
    ),
    ToolSpec(
        "set_budget",
        "Set a spending limit for a category.",
        (Param("category", "category"), Param("amount", "amount"), Param("period", "budget_period")),
    ),
    ToolSpec(
        "create_goal",
        "Create a savings goal.",
        (Param("name", "text"), Param("amount", "amount"), Param("deadline", "deadline", False)),
    ),
    ToolSpec(
        "emi_calculator",
        "Monthly EMI of a loan.",
        (Param("principal", "amount"), Param("annual_rate", "rate"), Param("months", "months")),
    ),
    ToolSpec(
        "search_transactions",
        "Find past transactions.",
        (
            Param("merchant", "merchant", False),
            Param("min_amount", "amount", False),
            Param("period", "period", False),
        ),
    ),
    ToolSpec("credit_score", "The user's latest credit score."),
    ToolSpec(
        "report_fraud",
        "Report a transaction the user did not make.",
        (Param("transaction_hint", "text"),),
    ),
    ToolSpec(
        "no_tool",
        "Answer in words: small talk, a question the context answers, or a refusal.",
        (Param("reply", "text"),),
    ),
)
TOOLS: dict[str, ToolSpec] = {spec.name: spec for spec in _TOOL_LIST}

_KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "amount": {"type": "integer", "minimum": 1, "description": "whole rupees"},
    "rate": {"type": "number", "minimum": 0, "maximum": 60, "description": "percent per year"},
    "months": {"type": "integer", "minimum": 1, "maximum": 480},
    "period": {"type": "string", "enum": list(PERIODS)},
    "budget_period": {"type": "string", "enum": list(BUDGET_PERIODS)},
    "category": {"type": "string", "enum": list(CATEGORIES)},
    "account": {"type": "string", "minLength": 1, "description": "bank [type], lower case"},
    "merchant": {"type": "string", "minLength": 1, "description": "lower case"},
    "text": {"type": "string", "minLength": 1},
    "deadline": {"type": "string", "pattern": DEADLINE_PATTERN, "description": "YYYY-MM or P<n>M/P<n>Y"},
}


def json_schema(tool: str) -> dict[str, Any]:
    """The JSON schema (draft 2020-12 subset) of ``tool``'s arguments object."""
    spec = _spec(tool)
    return {
        "type": "object",
        "properties": {p.name: dict(_KIND_SCHEMAS[p.kind]) for p in spec.params},
        "required": [p.name for p in spec.params if p.required],
        "additionalProperties": False,
    }


def schema_errors(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """What in ``value`` breaks ``schema`` (the keywords :func:`json_schema` uses); empty if valid."""
    kind = schema.get("type")
    type_ok = {
        "object": isinstance(value, dict),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
    }
    if kind is not None and not type_ok.get(str(kind), False):
        return [f"{path}: expected {kind}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in enum")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: below {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{path}: above {schema['maximum']}")
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: empty")
    if "pattern" in schema and not re.match(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if kind == "object":
        errors += _object_errors(value, schema, path)
    return errors


def _object_errors(value: dict[str, Any], schema: Mapping[str, Any], path: str) -> list[str]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    errors = [f"{path}: missing {name}" for name in schema.get("required", []) if name not in value]
    if schema.get("additionalProperties") is False:
        errors += [f"{path}: unexpected {name}" for name in value if name not in properties]
    for name, item in value.items():
        if name in properties:
            errors += schema_errors(item, properties[name], f"{path}.{name}")
    return errors


def _spec(tool: str) -> ToolSpec:
    if tool not in TOOLS:
        raise ToolCallError(f"unknown tool {tool!r}; choose one of {', '.join(TOOLS)}")
    return TOOLS[tool]


def normalise_arguments(tool: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` in canonical form and schema order; a ToolCallError if any is wrong or missing.

    Optional arguments given as null or an empty string are dropped.
    """
    spec = _spec(tool)
    known = {p.name: p for p in spec.params}
    unknown = sorted(set(arguments) - set(known))
    if unknown:
        raise ToolCallError(f"{tool} takes no argument {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for param in spec.params:
        value = arguments.get(param.name)
        if value is None or value == "":
            if param.required:
                raise ToolCallError(f"{tool} needs {param.name}")
            continue
        out[param.name] = NORMALISERS[param.kind](value)
    errors = schema_errors(out, json_schema(tool))
    if errors:
        raise ToolCallError(f"{tool}: {'; '.join(errors)}")
    return out


# --- the call ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """One call: a tool name and its (normalised) arguments."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, arguments: Mapping[str, Any] | None = None) -> ToolCall:
        """A call with its arguments normalised and checked against the tool's schema."""
        return cls(name, normalise_arguments(name, arguments or {}))

    def to_json(self) -> str:
        """The canonical text the model is trained to emit."""
        return json.dumps({"name": self.name, "arguments": self.arguments}, ensure_ascii=False)

    @property
    def reply(self) -> str:
        """The user-facing text: the reply of ``no_tool``, else the call's JSON."""
        return str(self.arguments["reply"]) if self.name == "no_tool" else self.to_json()


def extract_json(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` (code fences, chatter and a missing closing brace forgiven)."""
    decoder = json.JSONDecoder()
    for start in (m.start() for m in re.finditer(r"\{", text)):
        for suffix in ("", "}", "}}", '"}}'):
            try:
                value, _ = decoder.raw_decode(text[start:] + suffix)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return None


def parse_call(text: str) -> ToolCall | None:
    """The call in a model's output, normalised; None if there is no JSON object of the call's shape.

    Accepts ``{"name", "arguments"}`` and the common variants (``tool``/``args``/``parameters``,
    OpenAI's ``function``). Arguments that fail their schema raise ToolCallError.
    """
    value = extract_json(text)
    if value is None:
        return None
    if isinstance(value.get("function"), dict):
        value = value["function"]
    name = value.get("name", value.get("tool"))
    arguments = value.get("arguments", value.get("args", value.get("parameters", {})))
    if isinstance(arguments, str):
        arguments = extract_json(arguments) or {}
    if not isinstance(name, str) or not isinstance(arguments, dict):
        return None
    return ToolCall.create(name, arguments)
