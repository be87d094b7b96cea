# Confnotes: `make run` serves the demo site, `make test` runs every test. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The test settings explicitly: a DJANGO_SETTINGS_MODULE in the environment must not win.
PYTEST := $(VENV)/bin/pytest --ds=notes_site.test_settings
AXE := tests/e2e/axe/node_modules/axe-core/axe.min.js
NPM := $(shell command -v npm 2>/dev/null)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help venv setup run worker test test-fast test-engine test-browser test-postgres lint format bench clean axe

help:
	@echo "make run           - set up and serve the demo site on http://$(HOST):$(PORT)/ with the task worker"
	@echo "make test          - set up and run the whole test suite (lint + pytest; see README: Tests)"
	@echo "make test-fast     - the tests that need neither Docker engines nor a browser"
	@echo "make test-engine   - the tests on real sandbox engines (root, docker.io iproute2 util-linux busybox-static)"
	@echo "make test-browser  - the browser tests (chromium; nodejs npm for the accessibility checks)"
	@echo "make test-postgres - the database tests on PostgreSQL (set DATABASE_URL=postgres://...)"
	@echo "make lint          - ruff check and ruff format --check"
	@echo "make format        - ruff format and ruff check --fix"
	@echo "make bench         - run the benchmarks (ratios against a baseline measured alongside)"
	@echo "make worker        - set up and run one task worker (root for private sandboxes)"
	@echo "make setup         - create the virtualenv, migrate the database and load the demo notes"
	@echo "make venv          - create the virtualenv in $(VENV) with the pinned requirements"
	@echo "make axe           - install axe-core for the accessibility checks (npm ci; needs nodejs npm)"
	@echo "make clean         - remove the virtualenv, var/ (the database too), staticfiles/, caches, axe-core"
	@echo "make help          - this list"

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "Could not create a virtual environment: install python3-venv (apt-get install python3-venv)."; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# axe-core for the accessibility checks of the browser tests, at the version package-lock.json pins.
$(AXE): tests/e2e/axe/package.json tests/e2e/axe/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the accessibility checks: apt-get install nodejs npm"; exit 1; }
	cd tests/e2e/axe && npm ci --no-audit --no-fund --loglevel=error
	@touch $(AXE)

axe: $(AXE)

# `make test` and `make test-browser` install axe-core where npm is; without npm they go on and
# say so once: the accessibility checks then skip (and fail in CI, as a missing Chromium does).
AXE_IF_NPM := $(if $(NPM),axe)
AXE_NOTE := $(if $(NPM)$(wildcard $(AXE)),,@echo "Note: the accessibility checks need nodejs and npm (apt-get install nodejs npm); without them they are skipped (and fail in CI).")

setup: venv
	@mkdir -p var
	DEBUG=true $(PY) manage.py migrate --noinput -v 0
	DEBUG=true $(PY) manage.py load_demo

run: setup
	@DEBUG=true HOST=$(HOST) PORT=$(PORT) PY=$(PY) scripts/run-dev

worker: setup
	DEBUG=true $(PY) manage.py run_worker

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: venv lint $(AXE_IF_NPM)
	$(AXE_NOTE)
	$(PYTEST)

test-fast: venv
	$(PYTEST) -m "not engine and not browser"

test-engine: venv
	$(PYTEST) -m engine

test-browser: venv $(AXE_IF_NPM)
	$(AXE_NOTE)
	$(PYTEST) -m browser

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache tests/e2e/axe/node_modules

# The database-facing tests again on PostgreSQL (CI sets DATABASE_URL; see .ci/run).
test-postgres: venv
	@test -n "$$DATABASE_URL" || { echo "Set DATABASE_URL=postgres://... first."; exit 1; }
	$(PYTEST) -m "not browser and not engine"
