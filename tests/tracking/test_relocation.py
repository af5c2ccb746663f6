"""A home that can move: copied elsewhere (the original gone), it serves its champions from the copy;
what lay outside the old home is still refused. Real embedded MLflow stores and app DBs. The test
models are pickled by reference to this test package, so the pickle type check is skipped here
(``check_pickles=False``, ``trust_model_pickles``); the location check always runs.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from nivesh_ml.config import Settings
from nivesh_ml.tracking.loading import clear_cache, load_model
from nivesh_ml.tracking.registry import apply_gate
from nivesh_ml.tracking.relocation import MLFLOW_LOCATIONS, HomeMove, relocate_home
from nivesh_ml.tracking.runs import start_training_run
from nivesh_ml.tracking.store import MODEL_KEYS, artifact_root, client, registered_name
from nivesh_ml.tracking.supply_chain import UntrustedModelError, verified_model_path

from .conftest import EXAMPLE, SIGNATURE, ConstantModel

MODEL = "credit-risk"


def _train(settings: Settings, offset: float) -> str:
    """A tiny version trained on a file inside the home, made champion by the gate."""
    source = settings.home / "data" / "train.parquet"
    source.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"x": [offset, 1.0], "y": [0, 1]})
    frame.to_parquet(source)
    with start_training_run(settings, MODEL) as run:
        run.log_dataset(frame, name="train", role="training", source=str(source))
        run.log_reference(frame[["x"]])
        version = run.log_model(ConstantModel(offset), signature=SIGNATURE, input_example=EXAMPLE.head(1))
    apply_gate(settings, MODEL, version.version, {"auc": 0.9 + offset / 100}, "a" * 64)
    return version.version


def _rogue(settings: Settings, good: str, outside: Path) -> str:
    """A version whose source is a copy of ``good`` outside the home (what the check must refuse)."""
    shutil.copytree(verified_model_path(settings, MODEL, good, check_pickles=False), outside)
    return str(client(settings).create_model_version(registered_name(MODEL), source=outside.as_uri()).version)


def _stored(database: Path, needle: str) -> list[str]:
    """Every stored value of the tracked location columns (and lineage) that contains ``needle``."""
    with sqlite3.connect(database) as connection:
        found: list[str] = []
        for table, column in (*MLFLOW_LOCATIONS, ("datasets", "dataset_source")):
            found += [
                v for (v,) in connection.execute(f'SELECT "{column}" FROM "{table}"') if needle in str(v)
            ]
        return found


def test_a_copied_home_serves_its_champion_once_the_original_is_gone(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    before = make_settings()
    champion = _train(before, 1.0)
    rogue = _rogue(before, champion, tmp_path / "outside" / "model")
    old = str(before.home.resolve())
    moved_home = tmp_path / "restored" / "var"
    shutil.copytree(before.home, moved_home, symlinks=True)
    shutil.rmtree(before.home)
    clear_cache()

    after = make_settings(home=moved_home)
    loaded = load_model(after, MODEL)  # what the server does: alias, supply-chain check, load
    assert (loaded.version, list(loaded.pyfunc.predict(EXAMPLE))) == (champion, [2.0, 3.0, 4.0])
    assert (
        Path(verified_model_path(after, MODEL, champion, check_pickles=False))
        .resolve()
        .is_relative_to(moved_home.resolve())
    )
    # nothing in the store names the old home any more; the rogue's outside source is kept, and refused
    assert _stored(moved_home / "mlflow" / "mlflow.db", old) == []
    with pytest.raises(
        UntrustedModelError, match=rf"v{rogue} is stored at .*/outside/model, outside the registry"
    ):
        verified_model_path(after, MODEL, rogue, check_pickles=False)
    # run artefacts (the drift reference) and lineage follow the home; new runs write into it
    run_id = client(after).get_model_version(registered_name(MODEL), champion).run_id
    assert [a.path for a in client(after).list_artifacts(run_id, "reference")] == [
        "reference/features.parquet"
    ]
    with sqlite3.connect(moved_home / "nivesh.db") as app:
        assert [p for (p,) in app.execute("SELECT s3_path FROM training_dataset")] == [
            str(moved_home.resolve() / "data" / "train.parquet")
        ]
    newer = _train(after, 2.0)
    assert load_model(after, MODEL).version == newer
    assert not Path(old).exists()


def test_a_copy_beside_its_original_moves_and_a_second_open_changes_nothing(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    original = make_settings()
    champion = _train(original, 1.0)
    copy = make_settings(home=tmp_path / "copy" / "var")
    shutil.copytree(original.home, copy.home, symlinks=True)
    roots = {f"nivesh/{model}": artifact_root(copy, model) for model in MODEL_KEYS}
    moves = relocate_home(copy, roots)
    assert [(m.old_path, m.new) for m in moves] == [(str(original.home.resolve()), copy.home.resolve())]
    assert relocate_home(copy, roots) == []
    assert load_model(copy, MODEL).version == champion
    # the original still serves from itself
    clear_cache()
    assert Path(verified_model_path(original, MODEL, champion, check_pickles=False)).is_relative_to(
        original.home.resolve()
    )


def test_a_home_reached_through_a_symlink_is_not_a_move(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    real = make_settings(home=tmp_path / "real" / "var")
    champion = _train(real, 1.0)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    linked = make_settings(home=tmp_path / "link" / "var")
    roots = {f"nivesh/{model}": artifact_root(linked, model) for model in MODEL_KEYS}
    assert relocate_home(linked, roots) == []
    assert load_model(linked, MODEL).version == champion


@pytest.mark.parametrize(
    ("stored", "moved"),
    [
        ("file:///old/var/mlflow/artifacts/x", "file:///new/var/mlflow/artifacts/x"),
        ("/old/var/data/train.parquet", "/new/var/data/train.parquet"),
        ("file:///old/var", "file:///new/var"),
        ("file:///old/var-2/mlflow", "file:///old/var-2/mlflow"),  # a sibling, not inside
        ("/elsewhere/old/var/x", "/elsewhere/old/var/x"),
        ("s3://bucket/old/var/x", "s3://bucket/old/var/x"),
        ("models:/m-123", "models:/m-123"),
    ],
)
def test_only_locations_inside_the_old_home_move(stored: str, moved: str) -> None:
    move = HomeMove("/old/var", "file:///old/var", Path("/new/var"))
    assert move.apply(stored) == moved
    assert move.apply_json(f'{{"uri": "{stored}"}}') == (
        f'{{"uri": "{moved}"}}' if moved != stored else f'{{"uri": "{stored}"}}'
    )
