from __future__ import annotations

import os
from pathlib import Path

import pytest

from nivesh_ml.config import Settings, load_settings
from nivesh_ml.errors import ConfigError


def test_defaults_put_every_writable_path_under_home() -> None:
    settings = load_settings(_env_file=None)
    assert settings.home == Path("var")
    for path in (settings.data_dir, settings.features_dir, settings.models_dir, settings.mlflow_dir):
        assert path.is_relative_to(settings.home)
    assert settings.db_url == "sqlite:///var/nivesh.db"
    assert settings.tracking_uri == "sqlite:///var/mlflow/mlflow.db"
    assert settings.online_store == "sqlite"


def test_environment_overrides_with_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NIVESH_HOME", str(tmp_path))
    monkeypatch.setenv("NIVESH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("NIVESH_ONLINE_STORE", "redis")
    monkeypatch.setenv("NIVESH_API_KEYS", '["k1", "k2"]')
    monkeypatch.setenv("NIVESH_LOG_LEVEL", "debug")
    settings = load_settings(_env_file=None)
    assert settings.home == tmp_path
    assert settings.db_url.startswith("postgresql+psycopg://")
    assert settings.online_store == "redis"
    assert [key.get_secret_value() for key in settings.api_keys] == ["k1", "k2"]
    assert settings.log_level == "DEBUG"
    assert "k1" not in repr(settings)


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("NIVESH_PORT=9001\nNIVESH_USERS=50\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert (settings.port, settings.users) == (9001, 50)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NIVESH_PORT", "eighty", "NIVESH_PORT='eighty' is not valid: Input should be a valid integer"),
        (
            "NIVESH_PORT",
            "70000",
            "NIVESH_PORT='70000' is not valid: Input should be less than or equal to 65535",
        ),
        ("NIVESH_ONLINE_STORE", "memcached", "NIVESH_ONLINE_STORE='memcached' is not valid: Input should be"),
        (
            "NIVESH_DATABASE_URL",
            "mysql://x",
            "NIVESH_DATABASE_URL='mysql://x' is not valid: expected a sqlite",
        ),
        (
            "NIVESH_REDIS_URL",
            "127.0.0.1:6379",
            "NIVESH_REDIS_URL='127.0.0.1:6379' is not valid: expected a redis",
        ),
        (
            "NIVESH_ANOMALY_THRESHOLD",
            "1.5",
            "NIVESH_ANOMALY_THRESHOLD='1.5' is not valid: Input should be less",
        ),
    ],
)
def test_bad_value_fails_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_settings_are_frozen() -> None:
    settings = load_settings(_env_file=None)
    with pytest.raises(ValueError, match="frozen"):
        settings.port = 1  # type: ignore[misc]


def test_nothing_happens_at_construction(tmp_path: Path) -> None:
    home = tmp_path / "never-created"
    Settings(_env_file=None, home=home, database_url="postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert not home.exists()


def test_export_offline_env_sets_telemetry_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY")
    load_settings(_env_file=None).export_offline_env()
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
