"""The GitHub Actions workflows: actionlint-clean, actions pinned by commit SHA, least privilege,
secrets by name only, and each workflow doing the job the README promises (CI, retraining, release).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from nivesh_ml.tracking.store import MODEL_KEYS

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
NAMES = tuple(sorted(path.stem for path in WORKFLOWS.glob("*.yml")))  # every check covers every workflow
ACTIONLINT = Path(sys.executable).parent / "actionlint"
# owner/repo[/path]@<40 hex> # vX.Y.Z
PINNED = re.compile(r"uses: (?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # v\d+\.\d+\.\d+$")
SENSITIVE_KEY = re.compile(r"(password|token|secret|api[_-]?key|credential)", re.IGNORECASE)
EXPRESSION = re.compile(r"^\$\{\{\s*(secrets\.[A-Z][A-Z0-9_]*|github\.token)\s*\}\}$")


def load(name: str) -> dict[str, Any]:
    """A workflow as data (YAML 1.1 reads the key ``on`` as True)."""
    workflow: dict[Any, Any] = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of every job."""
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def uses(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """The steps that use ``action`` (owner/repo)."""
    return [step for step in steps(workflow) if step.get("uses", "").startswith(f"{action}@")]


def runs(workflow: dict[str, Any]) -> str:
    """All the shell of a workflow, one script."""
    return "\n".join(step.get("run", "") for step in steps(workflow))


def walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (dotted key path, scalar value) under ``node``."""
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in walk(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [item for index, value in enumerate(node) for item in walk(value, f"{path}[{index}]")]
    return [(path, node)]


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """Run the pinned actionlint (a dev dependency in requirements.lock) on ``paths``."""
    assert ACTIONLINT.is_file(), f"{ACTIONLINT} missing: run `make install` (requirements.lock pins it)"
    command = [str(ACTIONLINT), "-no-color", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)


def test_ci_train_and_release_exist_and_every_workflow_is_a_yml_file() -> None:
    assert {"ci", "train", "release"} <= set(NAMES)
    assert list(WORKFLOWS.glob("*.yaml")) == []  # `make lint` runs actionlint on *.yml


def test_actionlint_passes_on_every_workflow() -> None:
    result = actionlint(*(WORKFLOWS / f"{name}.yml" for name in NAMES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.event.pull_request.title }}\n"
        "      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n"
    )
    result = actionlint(broken)
    assert result.returncode == 1
    assert "no-such-input" in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_every_action_is_pinned_by_commit_sha_with_its_version(name: str) -> None:
    lines = [line.strip() for line in (WORKFLOWS / f"{name}.yml").read_text().splitlines()]
    used = [line.removeprefix("- ") for line in lines if re.match(r"(- )?uses:", line)]
    assert used
    for line in used:
        assert PINNED.fullmatch(line), f"{name}.yml: {line!r} is not owner/repo@<sha> # vX.Y.Z"


def test_one_tag_of_an_action_is_one_sha_everywhere() -> None:
    seen: dict[str, set[str]] = {}
    for name in NAMES:
        for match in PINNED.finditer((WORKFLOWS / f"{name}.yml").read_text().replace("- uses:", "uses:")):
            seen.setdefault(match["action"], set()).add(match["sha"])
    assert {action: shas for action, shas in seen.items() if len(shas) > 1} == {}


@pytest.mark.parametrize("name", NAMES)
def test_permissions_are_read_only_at_the_top_and_widened_per_job_only_where_needed(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {"contents": "read"}
    widened = {
        (job_name, scope): level
        for job_name, job in workflow["jobs"].items()
        for scope, level in (job.get("permissions") or {}).items()
        if level != "read"
    }
    expected = {("release", "contents"): "write"} if name == "release" else {}
    assert widened == expected


@pytest.mark.parametrize("name", NAMES)
def test_secrets_are_used_by_name_only(name: str) -> None:
    workflow = load(name)
    text = (WORKFLOWS / f"{name}.yml").read_text()
    assert "secrets: inherit" not in text
    assert "pull_request_target" not in workflow["on"]
    for path, value in walk(workflow):
        key = path.rsplit(".", 1)[-1]
        if SENSITIVE_KEY.search(key) and isinstance(value, str) and "description" not in path:
            assert EXPRESSION.match(value), f"{name}.yml {path}: {value!r} is not a secret by name"
    for expression in re.findall(r"\$\{\{[^}]*secrets\.[^}]*\}\}", text):
        assert re.fullmatch(r"\$\{\{ secrets\.[A-Z][A-Z0-9_]* \}\}", expression), expression


@pytest.mark.parametrize("name", NAMES)
def test_checkouts_do_not_keep_the_token(name: str) -> None:
    for step in uses(load(name), "actions/checkout"):
        assert step["with"]["persist-credentials"] is False


def test_ci_runs_make_test_against_postgres_and_redis_with_prometheus() -> None:
    workflow = load("ci")
    assert set(workflow["on"]) == {"pull_request", "push"}
    job = workflow["jobs"]["test"]
    services = job["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    for service in services.values():
        assert "--health-cmd" in service["options"]
    assert services["postgres"]["env"]["POSTGRES_DB"] == "test"
    assert services["postgres"]["ports"] == ["5432:5432"]
    assert services["redis"]["ports"] == ["6379:6379"]
    (python,) = uses({"jobs": {"test": job}}, "actions/setup-python")
    assert python["with"] == {
        "python-version": "3.11",
        "cache": "pip",
        "cache-dependency-path": "requirements.lock",
    }
    script = runs({"jobs": {"test": job}})
    assert "apt-get install -y -q --no-install-recommends prometheus" in script
    assert "bash .ci/run" in script
    assert "make -o install audit" in runs({"jobs": {"audit": workflow["jobs"]["audit"]}})


def test_train_runs_every_model_against_the_stores_from_secrets_and_uploads_reports() -> None:
    workflow = load("train")
    assert set(workflow["on"]) == {"workflow_dispatch", "schedule"}
    assert workflow["on"]["schedule"][0]["cron"]
    job = workflow["jobs"]["retrain"]
    assert job["strategy"]["matrix"]["model"] == list(MODEL_KEYS)
    assert job["strategy"]["fail-fast"] is False
    for name in ("NIVESH_DATABASE_URL", "NIVESH_MLFLOW_TRACKING_URI", "NIVESH_REDIS_URL"):
        assert job["env"][name] == f"${{{{ secrets.{name} }}}}"
    assert 'nivesh-ml pipeline run "$MODEL"' in runs(workflow)
    (upload,) = uses(workflow, "actions/upload-artifact")
    assert upload["if"] == "always()"
    assert "var/reports" in upload["with"]["path"].split()
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_release_builds_the_dockerfile_tags_the_version_and_attaches_an_sbom() -> None:
    workflow = load("release")
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    (build,) = uses(workflow, "docker/build-push-action")
    assert build["with"]["file"] == "deploy/Dockerfile"
    assert build["with"]["push"] is True
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    for entry in workflow["jobs"]["image"]["strategy"]["matrix"]["include"]:
        assert re.search(rf"^FROM \S+ AS {entry['target']}$", dockerfile, re.MULTILINE), entry
    (meta,) = uses(workflow, "docker/metadata-action")
    assert "type=semver,pattern={{version}}" in meta["with"]["tags"]
    (login,) = uses(workflow, "docker/login-action")
    assert login["with"] == {
        "registry": "${{ secrets.REGISTRY }}",
        "username": "${{ secrets.REGISTRY_USERNAME }}",
        "password": "${{ secrets.REGISTRY_PASSWORD }}",
    }
    (sbom,) = uses(workflow, "anchore/sbom-action")
    assert sbom["with"]["image"].endswith("@${{ steps.build.outputs.digest }}")
    assert "gh release upload" in runs(workflow)
    assert "pyproject.toml" in runs(workflow)  # the tag must equal the project's version
