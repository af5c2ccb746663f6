"""Train the NER model: data -> fit (early stopping on dev) -> test -> NLU++ check -> log -> register -> gate.

``nivesh-ml train ner [--quick] [--dataset nivesh|nlupp] [--data-dir D]``:

1. data (:mod:`.data`): data/ner's train split as a training mix (hand-written sentences
   weighted, sentences with invented merchants added), dev for model selection, test
   (hand-written only) for the report and the gate;
2. fit a spaCy pipeline from ``spacy.blank("en")``: the EntityRuler of :mod:`.rules` and a
   statistical NER (:func:`fit`), seeded, the best dev epoch kept;
3. test metrics: precision, recall, F1 (exact span and label) overall and per entity, and the
   same test with the ruler off or placed after the NER (the placement ablation);
4. the NLU++ banking check on folds it never trains on, raw and aligned to our guideline;
5. ``nivesh``: register the pyfunc and pass it through the promotion gate against the champion
   scored on the same test split. ``nlupp``: a benchmark run (the same training, NLU++ scores
   as its metrics), logged, not registered.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from mlflow.models import infer_signature
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example, offsets_to_biluo_tags
from thinc.api import Optimizer, fix_random_seed

from nivesh_ml.config import Settings
from nivesh_ml.data.public import NerExample, Span, assert_not_test
from nivesh_ml.errors import DataError, ModelNotFoundError, SchemaError
from nivesh_ml.log import get_logger
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.models.ner.config import (
    DEFAULT_DATA_DIR,
    LABELS,
    MODEL_KEY,
    NLUPP_EVAL_FOLDS,
    NerConfig,
    ner_model_config,
)
from nivesh_ml.models.ner.data import (
    Corpus,
    load_corpus,
    nlupp_examples,
    to_frame,
    unannotated_regions,
    with_nlupp,
)
from nivesh_ml.models.ner.evaluate import entity_table, score_examples
from nivesh_ml.models.ner.model import PIPELINE_ARTIFACT, NerModel, load_ner_model, predict_frame
from nivesh_ml.models.ner.rules import RULER, add_ruler, guideline_spans, load_patterns, placement_variants
from nivesh_ml.monitoring.drift_space import reference_frame, reference_sample
from nivesh_ml.progress import item_progress
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.runs import RegisteredVersion, TrainingRun, pip_requirements, start_training_run

__all__ = ["DATASETS", "Fitted", "build_pipeline", "fit", "train"]

log = get_logger(__name__)

DATASETS = ("nivesh", "nlupp")  # data/ner, and the NLU++ banking check
NLUPP_LABELS = ("MONEY", "DATE", "CATEGORY", "MERCHANT")  # NLU++ annotates no ACCOUNT
EXAMPLE_TEXTS = ("Paid ₹450 to Swiggy yesterday from my HDFC savings account", "groceries last month?")


@dataclass(frozen=True)
class Fitted:
    """A trained pipeline and how training went."""

    nlp: Language
    best_epoch: int
    epochs: int
    dev: dict[str, Any]
    skipped: int  # training sentences whose spans did not align to tokens


def train(settings: Settings, options: TrainOptions, *, config: NerConfig | None = None) -> TrainReport:
    """Train, score and (on nivesh data) register and gate an NER pipeline."""
    config = config or (NerConfig.quick() if options.quick else NerConfig())
    if options.dataset not in DATASETS:
        raise SchemaError(f"ner trains on {' or '.join(DATASETS)}; got {options.dataset!r}")
    benchmark = options.dataset != "nivesh"
    corpus_dir = options.data_dir if options.data_dir is not None and not benchmark else DEFAULT_DATA_DIR
    nlupp_dir = options.data_dir if options.data_dir is not None and benchmark else settings.datasets_dir
    corpus = _with_nlupp_training(load_corpus(corpus_dir, config, options.seed), config, nlupp_dir)
    run_name = f"{options.dataset}{'-quick' if options.quick else ''}"
    with start_training_run(settings, MODEL_KEY, run_name=run_name) as run:
        hashes = _log_inputs(run, corpus)
        fitted = fit(corpus, config, options.seed, run)
        spans = _spans(fitted.nlp, corpus.test)
        test = score_examples(corpus.test, spans)
        _log_reference(run, corpus.test, spans)
        metrics, extra = _assess(run, fitted, corpus, test, config, nlupp_dir, required=benchmark)
        run.log_params({**config.to_params(), "dataset": options.dataset, "seed": options.seed})
        if benchmark:
            nlupp = extra["nlupp"]
            flat = {
                **_flat(nlupp["raw"]),
                **_flat(nlupp["aligned"], "aligned_"),
                "nivesh_test_f1": test["f1"],
            }
            reason = f"benchmark run on {options.dataset}: logged, not registered"
            return TrainReport(MODEL_KEY, run.run_id, flat, reason=reason, extra=extra)
        if not options.register:
            return TrainReport(MODEL_KEY, run.run_id, metrics, reason="registration off", extra=extra)
        version = _register(run, fitted.nlp, metrics)
    champion = _champion_metrics(settings, corpus)
    decision = apply_gate(settings, MODEL_KEY, version.version, metrics, hashes["evaluation"], champion)
    return TrainReport(
        MODEL_KEY, run.run_id, metrics, version.version, decision.outcome, decision.reason, extra
    )


def _with_nlupp_training(corpus: Corpus, config: NerConfig, nlupp_dir: Path) -> Corpus:
    """Add the NLU++ folds ``config`` trains on (never an evaluation fold); without the data, warn."""
    if not config.nlupp_train_folds:
        return corpus
    if set(config.nlupp_train_folds) & set(NLUPP_EVAL_FOLDS):
        kept = f"{NLUPP_EVAL_FOLDS[0]}-{NLUPP_EVAL_FOLDS[-1]}"
        raise DataError(f"NLU++ folds {kept} are kept for evaluation; do not train on them")
    try:
        return with_nlupp(corpus, nlupp_dir, config.nlupp_train_folds)
    except DataError as exc:
        log.warning("ner: training without NLU++", extra={"error": str(exc)})
        return corpus


# --- fitting ----------------------------------------------------------------------------------


def build_pipeline(config: NerConfig) -> Language:
    """A blank English pipeline with the NER (and the EntityRuler where ``config`` places it)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("ner", config={"model": ner_model_config(config)})
    add_ruler(nlp, config.ruler)
    ner = nlp.get_pipe("ner")
    for label in LABELS:
        ner.add_label(label)  # type: ignore[attr-defined]
    return nlp


def fit(corpus: Corpus, config: NerConfig, seed: int, run: TrainingRun | None = None) -> Fitted:
    """Train on the corpus's pools, keep the epoch with the best dev F1 (averaged weights)."""
    fix_random_seed(seed)
    nlp = build_pipeline(config)
    core, templated = _spacy_examples(nlp, corpus.core), _spacy_examples(nlp, corpus.templated)
    partial = _partial_examples(nlp, corpus.partial)
    optimizer = nlp.initialize(lambda: core + templated + partial)
    load_patterns(nlp, dates=config.ruler_dates)  # after initialize(), which empties the ruler
    annotates = [RULER] if config.ruler == "before" else []
    drawn = round(len(templated) * config.template_share)
    rng, best, best_epoch, best_dev, epoch = random.Random(seed), b"", -1, {"f1": -1.0}, 0  # nosec B311  # seeded
    top = -1.0  # the best dev F1 so far; the kept epoch is the last within tolerance of it
    with item_progress("ner: training epochs", config.max_epochs) as advance:
        for epoch in range(config.max_epochs):
            optimizer.learn_rate = _learn_rate(config, epoch)
            examples = core + partial + rng.sample(templated, drawn)
            loss = _epoch(nlp, examples, optimizer, rng, config, annotates)
            with nlp.use_params(optimizer.averages):
                dev = score_examples(corpus.dev, _spans(nlp, corpus.dev))
                top = max(top, dev["f1"])
                if dev["f1"] >= top - config.selection_tolerance:
                    best, best_epoch, best_dev = nlp.to_bytes(), epoch, dev
            if run is not None:
                run.log_metrics({"loss": loss, "dev_f1": dev["f1"]}, step=epoch)
            advance(1)
            if epoch >= config.patience_after and epoch - best_epoch >= config.patience:
                break
    nlp.from_bytes(best)
    skipped = len(corpus.train) - len(core) - len(templated) - len(partial)
    return Fitted(nlp, best_epoch, epoch + 1, best_dev, skipped)


def _learn_rate(config: NerConfig, epoch: int) -> float:
    """Linear decay from ``learn_rate`` to ``final_rate_share`` of it at the last epoch."""
    progress = epoch / max(1, config.max_epochs - 1)
    return config.learn_rate * (1.0 - (1.0 - config.final_rate_share) * progress)


def _aligned(nlp: Language, examples: list[NerExample]) -> list[tuple[Doc, NerExample]]:
    """Each example with its doc; a sentence whose spans are off token boundaries is skipped."""
    pairs = [(nlp.make_doc(example.text), example) for example in examples]
    kept = [(doc, ex) for doc, ex in pairs if all(doc.char_span(s, e) is not None for s, e, _ in ex.entities)]
    if len(kept) < len(pairs):
        skipped = {"skipped": len(pairs) - len(kept)}
        log.warning("ner: training sentences skipped (spans off token boundaries)", extra=skipped)
    return kept


def _spacy_examples(nlp: Language, examples: list[NerExample]) -> list[Example]:
    """spaCy training examples of fully annotated sentences."""
    return [Example.from_dict(doc, {"entities": list(ex.entities)}) for doc, ex in _aligned(nlp, examples)]


def _partial_examples(nlp: Language, examples: list[NerExample]) -> list[Example]:
    """Examples whose tokens in :func:`unannotated_regions` are missing (``-``), not outside (``O``)."""
    out: list[Example] = []
    for doc, example in _aligned(nlp, examples):
        tags = offsets_to_biluo_tags(doc, list(example.entities))
        for start, end in unannotated_regions(example.text):
            for token in doc.char_span(start, end, alignment_mode="expand") or []:
                if tags[token.i] == "O":
                    tags[token.i] = "-"
        out.append(Example.from_dict(doc, {"entities": tags}))
    return out


def _epoch(
    nlp: Language,
    examples: list[Example],
    optimizer: Optimizer,
    rng: random.Random,
    config: NerConfig,
    annotates: list[str],
) -> float:
    rng.shuffle(examples)
    losses: dict[str, float] = {}
    for batch in _batches(examples, config.batch_start, config.batch_stop):
        nlp.update(batch, sgd=optimizer, drop=config.dropout, losses=losses, annotates=annotates)
    return float(losses.get("ner", 0.0))


def _batches(items: list[Example], start: int, stop: int, rate: float = 1.001) -> Iterator[list[Example]]:
    """Batches growing from ``start`` to ``stop`` items (spaCy's compounding schedule)."""
    size, position = float(start), 0
    while position < len(items):
        yield items[position : position + int(size)]
        position += int(size)
        size = min(float(stop), size * rate)


def _spans(nlp: Language, examples: list[NerExample]) -> list[list[Span]]:
    return [guideline_spans(doc) for doc in nlp.pipe(example.text for example in examples)]


# --- assessment -------------------------------------------------------------------------------


def _assess(
    run: TrainingRun,
    fitted: Fitted,
    corpus: Corpus,
    test: dict[str, Any],
    config: NerConfig,
    nlupp_dir: Path,
    *,
    required: bool,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Test metrics, the ruler placement ablation and the NLU++ check; all logged to the run."""
    ablation = {
        name: score_examples(corpus.test, _spans(nlp, corpus.test))["f1"]
        for name, nlp in placement_variants(fitted.nlp, dates=config.ruler_dates)
    }
    metrics = {
        **_flat(test),
        "best_dev_f1": fitted.dev["f1"],
        **{f"test_f1_ruler_{k}": v for k, v in ablation.items()},
    }
    extra: dict[str, Any] = {
        "per_entity": test["per_entity"],
        "best_epoch": fitted.best_epoch,
        "epochs": fitted.epochs,
        "train_examples": len(corpus.train),
        "pools": {"core": len(corpus.core), "templated": len(corpus.templated), "nlupp": len(corpus.partial)},
        "skipped": fitted.skipped,
        "ruler_ablation": ablation,
    }
    nlupp = _nlupp_check(fitted.nlp, nlupp_dir, required=required)
    if nlupp is not None:
        extra["nlupp"] = nlupp
        metrics |= {"nlupp_f1": nlupp["raw"]["f1"], "nlupp_aligned_f1": nlupp["aligned"]["f1"]}
        run.log_dict(nlupp, "nlupp.json")
        run.log_text(_nlupp_report(nlupp), "nlupp.md")
    run.log_metrics(metrics)
    run.log_dict({"test": test, "dev": fitted.dev, "ruler_ablation": ablation}, "metrics.json")
    run.log_text(entity_table(test), "per_entity.md")
    return metrics, extra


def _flat(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """``precision``, ``recall``, ``f1`` and ``f1_<LABEL>`` for each entity."""
    flat = {f"{prefix}{key}": float(metrics[key]) for key in ("precision", "recall", "f1")}
    return flat | {f"{prefix}f1_{label}": float(row["f1"]) for label, row in metrics["per_entity"].items()}


def _nlupp_check(nlp: Language, datasets_dir: Path, *, required: bool) -> dict[str, Any] | None:
    """Scores on the NLU++ evaluation folds over the labels NLU++ annotates (raw and aligned)."""
    try:
        raw = nlupp_examples(datasets_dir, NLUPP_EVAL_FOLDS)
    except DataError as exc:
        if required:
            raise
        log.warning("ner: NLU++ check skipped", extra={"error": str(exc)})
        return None
    aligned = nlupp_examples(datasets_dir, NLUPP_EVAL_FOLDS, aligned=True)
    predicted = _spans(nlp, raw)
    return {
        "folds": list(NLUPP_EVAL_FOLDS),
        "utterances": len(raw),
        "labels": list(NLUPP_LABELS),
        "raw": score_examples(raw, predicted, NLUPP_LABELS),
        "aligned": score_examples(aligned, predicted, NLUPP_LABELS),
    }


def _nlupp_report(nlupp: dict[str, Any]) -> str:
    head = (
        f"NLU++ banking folds {nlupp['folds'][0]}-{nlupp['folds'][-1]} ({nlupp['utterances']} utterances)\n\n"
    )
    return head + "raw\n\n" + entity_table(nlupp["raw"]) + "\naligned\n\n" + entity_table(nlupp["aligned"])


# --- registry ---------------------------------------------------------------------------------


def _log_inputs(run: TrainingRun, corpus: Corpus) -> dict[str, str]:
    """Register the training mix, dev and test (content hashes) as the run's inputs."""
    train, dev, test = (
        to_frame(part, split) for part, split in zip(corpus.parts(), ("train", "dev", "test"), strict=True)
    )
    assert_not_test(train)
    source = str(corpus.source)
    return {
        "training": run.log_dataset(train, name="ner-train", role="training", source=source),
        "validation": run.log_dataset(dev, name="ner-dev", role="validation", source=source),
        "evaluation": run.log_dataset(test, name="ner-test", role="evaluation", source=source),
    }


def _log_reference(run: TrainingRun, examples: list[NerExample], spans: list[list[Span]]) -> None:
    """The drift reference: test texts and the entities the model found in them, in the API's shape."""

    def answer(text: str, found: list[Span]) -> dict[str, Any]:
        entities = [{"text": text[s:e], "label": label, "start": s, "end": e} for s, e, label in found]
        return {"entities": entities}

    picked = reference_sample(len(examples))
    served = (({"text": examples[i].text}, answer(examples[i].text, spans[i])) for i in picked)
    run.log_reference(reference_frame(MODEL_KEY, served))


def _register(run: TrainingRun, nlp: Language, metrics: dict[str, float]) -> RegisteredVersion:
    model = NerModel(nlp)
    example = predict_frame(list(EXAMPLE_TEXTS))
    output = model.predict(None, example)
    with tempfile.TemporaryDirectory(prefix="nivesh-ner-") as folder:
        path = Path(folder) / PIPELINE_ARTIFACT
        nlp.to_disk(path)
        return run.log_model(
            NerModel(),
            signature=infer_signature(example, output),
            input_example=example,
            artifacts={PIPELINE_ARTIFACT: str(path)},
            requirements=pip_requirements("spacy"),
            framework="spacy",
            metrics=metrics,
        )


def _champion_metrics(settings: Settings, corpus: Corpus) -> dict[str, float] | None:
    """The champion's metrics on the same test split; None when there is no champion."""
    try:
        champion = load_ner_model(settings, "champion")
    except ModelNotFoundError:
        return None
    scored = score_examples(corpus.test, champion.predict_spans(e.text for e in corpus.test))
    return _flat(scored)
