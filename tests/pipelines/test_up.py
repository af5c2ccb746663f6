from __future__ import annotations

from collections.abc import Callable

from nivesh_ml.config import Settings
from nivesh_ml.data.nivesh import synthetic_dir
from nivesh_ml.db.migrate import current
from nivesh_ml.features.lookup import get_user_features
from nivesh_ml.features.online import make_online_store
from nivesh_ml.pipelines.up import STAGES, run_up


def test_up_runs_every_stage_and_can_run_again(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(users=30, months=2)
    run_up(settings)
    manifest = (synthetic_dir(settings) / "manifest.json").read_text()
    revision = current(settings.db_url)
    assert revision is not None
    run_up(settings)  # a second run finds everything done and changes nothing
    assert (synthetic_dir(settings) / "manifest.json").read_text() == manifest
    assert current(settings.db_url) == revision
    assert [stage.name for stage in STAGES][:4] == [
        "generate synthetic data",
        "create app database",
        "build feature snapshots",
        "materialise online features",
    ]
    online = make_online_store(settings)
    try:
        assert get_user_features(online, "U0000001")
    finally:
        online.close()
