"""Settings of the NER model: the labels, the network, the training schedule, the data mix.

:class:`NerConfig` holds everything a training run needs besides :class:`~nivesh_ml.config.Settings`;
:meth:`NerConfig.quick` is the tiny variant the tests train in seconds. :func:`ner_model_config`
turns it into the ``[components.ner.model]`` block of a ``spacy train`` config, so the network
is written the way spaCy's own configs write it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DEFAULT_DATA_DIR",
    "LABELS",
    "MODEL_KEY",
    "NLUPP_EVAL_FOLDS",
    "NLUPP_TRAIN_FOLDS",
    "NerConfig",
    "RulerPlacement",
    "ner_model_config",
]

MODEL_KEY = "ner"
LABELS: tuple[str, ...] = ("MONEY", "DATE", "CATEGORY", "MERCHANT", "ACCOUNT")

# data/ner of the checkout (src/nivesh_ml/models/ner/config.py -> repo root is parents[4]).
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[4] / "data" / "ner"

# NLU++ banking has 20 folds and no test split: the first half may be trained on, the second
# half is kept for evaluation and never trained on.
NLUPP_TRAIN_FOLDS: tuple[int, ...] = tuple(range(10))
NLUPP_EVAL_FOLDS: tuple[int, ...] = tuple(range(10, 20))

RulerPlacement = Literal["before", "after", "none"]


@dataclass(frozen=True)
class NerConfig:
    """Network, schedule and data mix of one NER training run (defaults: the full run)."""

    # tok2vec: hashed embeddings of the normalised word and of character features (first
    # letter, last three letters, shape), so a merchant never seen in training still gets a
    # vector from how it is spelt and capitalised; a CNN over a window of neighbours.
    width: int = 96
    depth: int = 4
    embed_attrs: tuple[str, ...] = ("NORM", "PREFIX", "SUFFIX", "SHAPE")
    embed_rows: tuple[int, ...] = (5000, 1000, 2500, 2500)
    hidden_width: int = 64
    # schedule
    max_epochs: int = 14
    patience: int = 4  # epochs without a better dev F1 before stopping...
    patience_after: int = 8  # ...but never before this epoch: early epochs swing by points
    # a later epoch within this much of the best dev F1 replaces it: dev is 87 sentences, so
    # such gaps are noise, and later epochs (lower rate, longer averaging) generalise better
    selection_tolerance: float = 0.005
    dropout: float = 0.2
    learn_rate: float = 0.001
    # the rate falls linearly to this share of learn_rate by the last epoch: late epochs refine
    # instead of jumping between solutions (dev F1 swings by points from epoch to epoch otherwise)
    final_rate_share: float = 0.1
    batch_start: int = 8
    batch_stop: int = 32
    # data mix
    handwritten_weight: int = 4  # copies of each hand-written training sentence per epoch
    invented_merchants: int = 600  # extra sentences with merchants replaced by invented names
    template_share: float = 0.5  # share of the generated sentences drawn afresh each epoch
    nlupp_train_folds: tuple[int, ...] = NLUPP_TRAIN_FOLDS  # NLU++ as a partially annotated pool
    max_train_sentences: int | None = None  # quick runs: a sample of the training file
    # rules
    ruler: RulerPlacement = "before"
    ruler_dates: bool = True

    @classmethod
    def quick(cls) -> NerConfig:
        """A small network, a sample of the data and two epochs: for tests and smoke runs."""
        return replace(
            cls(),
            width=32,
            depth=1,
            embed_rows=(1000, 200, 500, 500),
            hidden_width=32,
            max_epochs=2,
            patience=1,
            patience_after=0,
            handwritten_weight=1,
            invented_merchants=40,
            template_share=1.0,
            nlupp_train_folds=(),
            max_train_sentences=400,
        )

    def to_params(self) -> dict[str, Any]:
        """Flat parameters for MLflow."""
        params: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            params[name] = ",".join(map(str, value)) if isinstance(value, tuple) else value
        return params


def ner_model_config(config: NerConfig) -> dict[str, Any]:
    """The ``model`` block of spaCy's ``ner`` factory for ``config``."""
    if len(config.embed_attrs) != len(config.embed_rows):
        raise ValueError("embed_attrs and embed_rows must have the same length")
    return {
        "@architectures": "spacy.TransitionBasedParser.v2",
        "state_type": "ner",
        "extra_state_tokens": False,
        "hidden_width": config.hidden_width,
        "maxout_pieces": 2,
        "use_upper": True,
        "nO": None,
        "tok2vec": {
            "@architectures": "spacy.Tok2Vec.v2",
            "embed": {
                "@architectures": "spacy.MultiHashEmbed.v2",
                "width": config.width,
                "attrs": list(config.embed_attrs),
                "rows": list(config.embed_rows),
                "include_static_vectors": False,
            },
            "encode": {
                "@architectures": "spacy.MaxoutWindowEncoder.v2",
                "width": config.width,
                "depth": config.depth,
                "window_size": 1,
                "maxout_pieces": 3,
            },
        },
    }
