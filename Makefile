# The verbs people expect. Every target that needs Python makes the virtualenv first.
SHELL := /bin/bash
PYTHON ?= python3.12
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help setup dev test unit integration infra lint validate bench build deploy events lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt layer/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.12 (see README)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(SAM_STAMP): requirements-sam.txt
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	@touch $@

setup: $(STAMP) ## create .venv and install the pinned development dependencies

dev: $(STAMP) ## run the whole stack locally (HTTP API, Lambda invoke, Mem0 store, DynamoDB)
	$(PY) scripts/dev.py $(if $(PORT),--port $(PORT),)

test: $(STAMP) lint ## lint, then every test (unit, integration, infra)
	$(PY) -m pytest

unit: $(STAMP) ## unit tests only
	$(PY) -m pytest tests/unit

integration: $(STAMP) ## integration tests only
	$(PY) -m pytest tests/integration

infra: $(STAMP) ## template tests only
	$(PY) -m pytest tests/infra

lint: $(STAMP) ## ruff (style and bugs) and bandit (security) over src, scripts and tests
	$(PY) -m ruff check src scripts tests
	$(PY) -m ruff format --check src scripts tests
	$(PY) -m bandit -q -c pyproject.toml -r src scripts

validate: $(STAMP) ## transform template.yaml with the SAM translator and cfn-lint both
	$(PY) scripts/validate_template.py

bench: $(STAMP) ## cold-start, warm-latency and worker benchmarks (prints a table, writes JSON)
	$(PY) scripts/bench.py

build: $(SAM_STAMP) ## sam build (no Docker needed: python3.12 is on PATH)
	SAM_CLI_TELEMETRY=0 $(SAM) build

deploy: $(SAM_STAMP) build ## sam deploy (copy samconfig.toml.example to samconfig.toml first, or run with GUIDED=1)
	SAM_CLI_TELEMETRY=0 $(SAM) deploy $(if $(GUIDED),--guided,)

events: $(STAMP) ## re-sign events/post_call.json with the current time (key from ELEVENLABS_HMAC_KEY or .env)
	$(PY) scripts/sign_event.py events/post_call.json

lock: ## regenerate the pinned requirement files from their top-level packages
	$(PYTHON) scripts/lock.py

clean: ## remove build output and caches (keeps .venv and local data)
	rm -rf .aws-sam .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -not -path './.venv*' -prune -exec rm -rf {} +
