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

.PHONY: help install run test lint fmt bench serve clean system-deps

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

test: install system-deps lint ## lint, type-check and run the test suite
	$(BIN)/pytest

system-deps: ## Debian packages the tests use (promtool from prometheus), installed when missing
	@command -v promtool >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q prometheus >/dev/null; } \
		|| { echo "promtool missing: run 'sudo apt-get install prometheus' and retry"; exit 2; }

lint: install ## ruff + mypy
	$(BIN)/ruff check src tests loadtest data
	$(BIN)/ruff format --check src tests loadtest data
	$(BIN)/mypy

fmt: install ## format the code
	$(BIN)/ruff format src tests loadtest data
	$(BIN)/ruff check --fix src tests loadtest data

bench: install ## run the benchmarks and record them in docs/BENCHMARKS.md
	$(BIN)/python loadtest/bench.py

serve: install ## serve the models on 127.0.0.1:8000
	$(BIN)/nivesh-ml serve

clean: ## remove generated data (var/), keep the venv
	rm -rf var
