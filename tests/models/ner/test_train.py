"""NER training end to end in quick mode: fit, score, log, register, gate; and the NLU++ benchmark mode."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import mlflow
import pytest
import spacy

from nivesh_ml.config import OFFLINE_ENV, Settings, load_settings
from nivesh_ml.data.public import NerExample
from nivesh_ml.errors import DataError, SchemaError
from nivesh_ml.models.common import TrainOptions, TrainReport
from nivesh_ml.models.ner import train as train_module
from nivesh_ml.models.ner.config import DEFAULT_DATA_DIR, NerConfig
from nivesh_ml.models.ner.data import Corpus
from nivesh_ml.models.ner.evaluate import evaluate
from nivesh_ml.models.ner.model import load_ner_model
from nivesh_ml.models.ner.rules import RULER, load_patterns
from nivesh_ml.models.ner.train import Fitted, train
from nivesh_ml.tracking.loading import clear_cache

pytestmark = pytest.mark.shared_data  # the NLU++ check reads ../shared/data


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, TrainReport]]:
    """One quick training run under a bar every quick model clears (the gate's logic has its own tests).

    Module-scoped, so it builds its own clean environment and settings the way conftest's
    function-scoped fixtures do.
    """
    shared = Path(os.environ.get("NIVESH_DATASETS_DIR", DEFAULT_DATA_DIR.parents[2] / "shared" / "data"))
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith("NIVESH_")]:
            env.delenv(name)
        for name, value in OFFLINE_ENV.items():
            env.setenv(name, value)
        settings = load_settings(
            _env_file=None,
            home=tmp_path_factory.mktemp("ner-home") / "var",
            datasets_dir=shared.resolve(),
            quality_bars={"ner": {"metric": "f1", "threshold": 0.1}},
        )
        yield settings, train(settings, TrainOptions(quick=True))


def test_quick_training_registers_a_champion(trained: tuple[Settings, TrainReport]) -> None:
    _, report = trained
    assert (report.model, report.version, report.outcome) == ("ner", "1", "champion")
    assert "no champion yet" in (report.reason or "")
    assert 0.1 <= report.metrics["f1"] <= 1.0
    assert {"precision", "recall", "f1_MONEY", "best_dev_f1", "nlupp_f1", "nlupp_aligned_f1"} <= set(
        report.metrics
    )
    assert set(report.extra["ruler_ablation"]) == {"as_trained", "off", "before", "after", "after_overwrite"}
    assert report.metrics["f1_MONEY"] > 0.8  # the ruler alone gets most amounts right


def test_the_run_holds_the_tables_and_the_data_sets(trained: tuple[Settings, TrainReport]) -> None:
    settings, report = trained
    mlflow.set_tracking_uri(settings.tracking_uri)
    run = mlflow.get_run(report.run_id)
    assert {"nivesh.dataset.training", "nivesh.dataset.validation", "nivesh.dataset.evaluation"} <= set(
        run.data.tags
    )
    assert run.data.metrics["f1"] == pytest.approx(report.metrics["f1"])
    names = {artifact.path for artifact in mlflow.MlflowClient().list_artifacts(report.run_id)}
    assert {"per_entity.md", "metrics.json", "nlupp.json", "nlupp.md"} <= names


def test_evaluate_the_champion_on_the_test_split_matches_training(
    trained: tuple[Settings, TrainReport],
) -> None:
    settings, report = trained
    clear_cache()
    metrics = evaluate(settings, DEFAULT_DATA_DIR / "test.jsonl", "champion")
    assert metrics["f1"] == pytest.approx(report.metrics["f1"])
    assert metrics["model_version"] == "1"


def test_the_served_model_answers_the_route_body(trained: tuple[Settings, TrainReport]) -> None:
    settings, _ = trained
    model = load_ner_model(settings, "champion")
    answer = model.serve({"text": "Paid ₹450 to Swiggy"})
    assert {"text": "₹450", "label": "MONEY", "start": 5, "end": 9} in answer["entities"]


def _rules_only(corpus: Corpus, config: NerConfig, seed: int, run: object = None) -> Fitted:
    """A stand-in for fit(): the EntityRuler alone, so a benchmark run's plumbing runs in a second."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler", name=RULER)
    load_patterns(nlp)
    return Fitted(nlp, best_epoch=0, epochs=1, dev={"f1": 0.0}, skipped=0)


def test_nlupp_mode_scores_raw_and_aligned_and_registers_nothing(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_module, "fit", _rules_only)
    report = train(make_settings(), TrainOptions(quick=True, dataset="nlupp"))
    assert report.version is None
    assert "not registered" in (report.reason or "")
    assert {"f1", "aligned_f1", "f1_MONEY", "aligned_f1_DATE", "nivesh_test_f1"} <= set(report.metrics)
    nlupp = report.extra["nlupp"]
    assert nlupp["folds"] == list(range(10, 20))
    assert "ACCOUNT" not in nlupp["raw"]["per_entity"]  # NLU++ annotates no accounts: none counted
    json.dumps(report.extra)


def test_unknown_dataset_is_refused(settings: Settings) -> None:
    with pytest.raises(SchemaError, match="nivesh or nlupp"):
        train(settings, TrainOptions(quick=True, dataset="banking77"))


def test_training_on_nlupp_evaluation_folds_is_refused(settings: Settings) -> None:
    config = replace(NerConfig.quick(), nlupp_train_folds=(9, 10))
    with pytest.raises(DataError, match="kept for evaluation"):
        train(settings, TrainOptions(quick=True), config=config)


def test_a_missing_corpus_is_a_data_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="point --data-dir"):
        train(settings, TrainOptions(quick=True, data_dir=tmp_path))


def test_nlupp_sentences_leave_possible_accounts_unannotated() -> None:
    nlp = spacy.blank("en")
    text = "move the money from the saving account by Monday"
    example = NerExample(text, [(42, 48, "DATE")])
    (partial,) = train_module._partial_examples(nlp, [example])
    tags = partial.get_aligned_ner()
    # "money from the" and "saving account" are unknown (None), the rest is annotated
    assert tags == ["O", "O", None, None, None, None, None, "O", "U-DATE"]
