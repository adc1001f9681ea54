# The verbs people expect. Every target that needs Python makes the virtualenv first.
SHELL := /bin/bash
PYTHON ?= python3.12
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-stamp
# checkov and awslabs' serverless rules for cfn-lint, apart: checkov pins older boto3, networkx and packaging.
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed-stamp

# The key `make events` signs with: the one events/local-env.json gives the functions under `sam local invoke`.
EVENT_KEY ?= test-hmac-secret

.DEFAULT_GOAL := help
.PHONY: help setup dev test unit integration infra lint validate bench build layer-check deploy deploy-check events secret \
	secret-set lock clean release console browser

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt layer/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.12 (see README)"; exit 1; }
	@test -x $(PY) || { echo "==> creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing the pinned development dependencies into $(VENV) (two to three minutes, once)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements.txt \
		| grep -E --line-buffered '^(Collecting|Installing|Successfully|ERROR)' ; test $${PIPESTATUS[0]} -eq 0
	@# The virtualenv knows the project's source, so tools run from the top (lint-imports) find agentic_memory.
	$(PY) -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_path('purelib'), 'agentic-memory-src.pth').write_text(str(pathlib.Path('src').resolve()) + '\\n')"
	@echo "==> $(VENV) is ready"
	@touch $@

$(SAM_STAMP): requirements-sam.txt
	@test -x $(SAM_VENV)/bin/python || { echo "==> creating $(SAM_VENV) with $(PYTHON)"; $(PYTHON) -m venv $(SAM_VENV); }
	@echo "==> installing the SAM CLI into $(SAM_VENV) (about a minute, once)"
	$(SAM_VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar off -r requirements-sam.txt \
		| grep -E --line-buffered '^(Collecting|Installing|Successfully|ERROR)' ; test $${PIPESTATUS[0]} -eq 0
	@touch $@

$(SCAN_STAMP): requirements-scan.txt
	@test -x $(SCAN_VENV)/bin/python || { echo "==> creating $(SCAN_VENV) with $(PYTHON)"; $(PYTHON) -m venv $(SCAN_VENV); }
	@echo "==> installing checkov and cfn-lint-serverless into $(SCAN_VENV) (under a minute, once)"
	$(SCAN_VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar off -r requirements-scan.txt \
		| grep -E --line-buffered '^(Installing|Successfully|ERROR)' ; test $${PIPESTATUS[0]} -eq 0
	@touch $@

setup: $(STAMP) ## create .venv and install the pinned development dependencies

dev: $(STAMP) ## run the whole stack locally (HTTP API, Lambda invoke, Mem0 store, DynamoDB)
	$(PY) scripts/dev.py $(if $(PORT),--port $(PORT),)

# PYTEST_ARGS="-n 2" runs the tests on two processes (pytest-xdist): the whole suite passes that way, but on a
# 2-core machine already busy with other work it was no faster (docs/performance.md, "How long make test takes").
test: $(STAMP) browser lint validate ## lint, the template's checks and scanners, then every test (unit, integration, infra)
	$(PY) -m pytest $(PYTEST_ARGS)

unit: $(STAMP) ## unit tests only
	$(PY) -m pytest tests/unit

integration: $(STAMP) browser ## integration tests only
	$(PY) -m pytest tests/integration

infra: $(STAMP) ## template tests only
	$(PY) -m pytest tests/infra

console: $(STAMP) ## the memory console on 127.0.0.1 for make dev's stack (STACK=name: a deployed one; CONSOLE_PORT=N)
	$(PY) scripts/console.py $(if $(CONSOLE_PORT),--listen-port $(CONSOLE_PORT),) $(if $(STACK),--stack $(STACK),) \
		$(if $(PORT),--port $(PORT),)

# The console's browser test drives Debian's chromium (tests/integration/test_console_browser.py). Quick when it
# is there; CI is a fresh Debian machine as root, where apt-get installs it.
browser: ## install Debian's chromium for the console's browser test, when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "==> installing Debian's chromium (the console's browser test; about a minute, once)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "chromium is missing: install Debian's chromium package (sudo apt-get install chromium)"; exit 1; \
		fi; }

lint: $(STAMP) ## ruff (style and bugs), bandit (security), and the architecture's import rules (import-linter)
	$(PY) -m ruff check src scripts tests
	$(PY) -m ruff format --check src scripts tests
	@# bandit 1.9 also warns "nosec encountered (B608), but no failed test" on the continuation lines of the
	@# multi-line SQL statements in scripts/standins/mem0.py whose first line carries the nosec: a miscount of its
	@# own (each statement is flagged, and suppressed, once). Only those lines are dropped from its output.
	$(PY) -m bandit -q -c pyproject.toml -r src scripts \
		2> >(grep -v -E '^\[tester\]\s+WARNING\s+nosec encountered \(B608\), but no failed test on file (\./)?scripts/standins/mem0\.py:' >&2)
	PYTHONPATH=src $(VENV)/bin/lint-imports --no-cache

validate: $(STAMP) $(SCAN_STAMP) ## template.yaml: SAM translator and cfn-lint, then checkov and the serverless rules
	$(PY) scripts/validate_template.py
	$(PY) scripts/scan_template.py --bin $(SCAN_VENV)/bin

bench: $(STAMP) ## cold-start, warm-latency and worker benchmarks (prints a table, writes JSON)
	$(PY) scripts/bench.py

build: $(SAM_STAMP) ## sam build (no Docker needed: python3.12 is on PATH), then the layer's size
	LAYER_PYTHON="$$($(PYTHON) -c 'import sys; print(sys.executable)')" SAM_CLI_TELEMETRY=0 $(SAM) build
	$(SAM_VENV)/bin/python scripts/layer_check.py --size .aws-sam/build/Mem0Layer

layer-check: $(STAMP) ## build the layer for this machine and serve each function with only it (make test does too)
	$(PY) scripts/layer_check.py

deploy-check: ## stop before a deploy when samconfig.toml is missing or still holds a placeholder
	@$(if $(GUIDED),true,$$(command -v $(PYTHON) || command -v python3) scripts/deploy_check.py)

# deploy-check comes first: a missing or unfinished samconfig.toml stops the deploy before any install or build.
deploy: deploy-check $(SAM_STAMP) build ## sam deploy (copy samconfig.toml.example to samconfig.toml first, or run with GUIDED=1)
	SAM_CLI_TELEMETRY=0 $(SAM) deploy $(if $(GUIDED),--guided,)

events: $(STAMP) ## sign a copy of events/post_call.json now, for sam local invoke (.local/events/, key EVENT_KEY)
	$(PY) scripts/sign_event.py events/post_call.json --key $(EVENT_KEY) --output .local/events/post_call.signed.json

secret-set: $(STAMP) ## set or rotate a deployed stack's secret: make secret-set STACK=name NAME=hmac (or workspace, mem0, elevenlabs)
	$(PY) scripts/stack_secret.py --stack $(STACK) set $(NAME)

secret: ## print a strong random key (for ElevenLabsWorkspaceKey, or a local secret)
	@$$(command -v $(PYTHON) || command -v python3) -c 'import secrets; print(secrets.token_urlsafe(32))'

release: $(STAMP) ## check that pyproject, the package, the template's SAR metadata, CHANGELOG.md and the README name one version
	$(PY) scripts/release_check.py

lock: ## regenerate the pinned requirement files from their top-level packages
	$(PYTHON) scripts/lock.py

clean: ## remove build output and caches (keeps .venv and local data)
	rm -rf .aws-sam .pytest_cache .ruff_cache .hypothesis bench-results .import_linter_cache
	find . -name __pycache__ -not -path './.venv*' -prune -exec rm -rf {} +
