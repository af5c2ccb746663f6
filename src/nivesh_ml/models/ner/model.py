"""The served NER model: a spaCy pipeline (EntityRuler + statistical NER) behind an MLflow pyfunc.

The registered model's one artefact is the spaCy pipeline folder (``pipeline/``: config.cfg,
the ruler's patterns and the trained weights); :meth:`NerModel.load_context` loads it with
``spacy.load``, so serving needs spaCy and nothing of ours beyond this class.

- ``predict(context, frame)``: a frame with a ``text`` column -> a frame with an ``entities``
  column, one list of ``{"text", "label", "start", "end"}`` per row (character offsets, end
  exclusive).
- :meth:`NerModel.extract`: the server's hot path for one text; :meth:`NerModel.serve` takes the
  HTTP request body ``{"text": str}`` and answers ``{"entities": [...]}``.

spaCy's CPU ops run through ``blis`` on the calling thread only, so each call uses one core.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import spacy
from mlflow.pyfunc.model import PythonModel, PythonModelContext
from spacy.language import Language
from spacy.tokens import Doc

from nivesh_ml.config import Settings
from nivesh_ml.data.public import Span
from nivesh_ml.errors import SchemaError, TrackingError
from nivesh_ml.models.ner.config import MODEL_KEY
from nivesh_ml.models.ner.rules import guideline_spans
from nivesh_ml.tracking.loading import load_model

__all__ = [
    "MAX_TEXT_CHARS",
    "PIPELINE_ARTIFACT",
    "TEXT_COLUMN",
    "Entity",
    "NerModel",
    "entities_of",
    "load_ner_model",
    "load_pipeline",
    "predict_frame",
]

PIPELINE_ARTIFACT = "pipeline"
TEXT_COLUMN = "text"
MAX_TEXT_CHARS = 10_000  # as the route's NerRequest allows; longer input is refused, not truncated
BATCH_SIZE = 64

Entity = dict[str, Any]
"""``{"text": str, "label": str, "start": int, "end": int}``."""


def load_pipeline(path: Path) -> Language:
    """The spaCy pipeline saved at ``path`` (the ``pipeline`` artefact)."""
    return spacy.load(path)


def entities_of(doc: Doc) -> list[Entity]:
    """A parsed text's entities in the API's shape, in text order (see :func:`guideline_spans`)."""
    return [
        {"text": doc.text[start:end], "label": label, "start": start, "end": end}
        for start, end, label in guideline_spans(doc)
    ]


class NerModel(PythonModel):
    """The pyfunc the registry serves; see the module docstring."""

    def __init__(self, nlp: Language | None = None) -> None:
        self._nlp = nlp  # None when logged: the pipeline folder is the state, not a pickle
        self.model_version = "unknown"  # the registry's version; set by load_ner_model

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the pipeline: the logged artefact carries it."""
        return {**self.__dict__, "_nlp": None}

    def load_context(self, context: PythonModelContext) -> None:
        """Load the spaCy pipeline from the logged ``pipeline`` artefact."""
        self._nlp = load_pipeline(Path(context.artifacts[PIPELINE_ARTIFACT]))

    @property
    def nlp(self) -> Language:
        """The loaded pipeline."""
        if self._nlp is None:
            raise TrackingError("ner model used before its pipeline was loaded")
        return self._nlp

    def predict(
        self,
        context: PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """One ``entities`` list per row of a frame with a ``text`` column."""
        frame = pd.DataFrame(model_input)
        if TEXT_COLUMN not in frame.columns:
            raise SchemaError(
                f"ner input needs a {TEXT_COLUMN!r} column; got {', '.join(map(str, frame.columns))}"
            )
        texts = [_checked_text(value) for value in frame[TEXT_COLUMN].tolist()]
        entities = [entities_of(doc) for doc in self.nlp.pipe(texts, batch_size=BATCH_SIZE)]
        return pd.DataFrame({"entities": entities}, index=frame.index)

    def predict_spans(self, texts: Iterable[str]) -> list[list[Span]]:
        """``(start, end, label)`` spans per text, for scoring."""
        docs = self.nlp.pipe((_checked_text(text) for text in texts), batch_size=BATCH_SIZE)
        return [guideline_spans(doc) for doc in docs]

    def extract(self, text: str) -> list[Entity]:
        """The hot path: the entities of one text."""
        return entities_of(self.nlp(_checked_text(text)))

    def serve(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The server's route body: ``{"text": str}`` -> ``{"entities": [...]}``."""
        if not isinstance(request, Mapping) or TEXT_COLUMN not in request:
            raise SchemaError('ner expects {"text": "..."}')
        return {"entities": self.extract(request[TEXT_COLUMN])}


def _checked_text(value: Any) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"ner input text must be a string, got {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        raise SchemaError(f"ner input text has {len(value)} characters; the limit is {MAX_TEXT_CHARS}")
    return value


def predict_frame(texts: Sequence[str]) -> pd.DataFrame:
    """The pyfunc's input frame for ``texts`` (also its input example)."""
    return pd.DataFrame({TEXT_COLUMN: list(texts)})


def load_ner_model(settings: Settings, alias: str = "champion") -> NerModel:
    """The registered NER model under ``alias``, loaded (cached) and told its version."""
    loaded = load_model(settings, MODEL_KEY, alias)
    model = loaded.pyfunc.unwrap_python_model()  # type: ignore[no-untyped-call]
    if not isinstance(model, NerModel):
        raise TrackingError(f"{loaded.name} v{loaded.version} is not an ner model")
    model.model_version = loaded.version
    return model
