# GreenGuild developer commands. Needs only Python 3.11 and make.
#   make run   — virtualenv, install, migrate, reference data, demo organization, serve on 127.0.0.1:8000
#   make test  — the whole test suite (PostgreSQL/Redis/real worker when DATABASE_URL/CELERY_BROKER_URL are set)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run setup test lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# The 2.x CodeCarbon client beside 3.3.2, for the tests that drive both (tests/ingest/codecarbon_clients.py).
	$(BIN)/pip install --quiet --upgrade --no-deps --target $(VENV)/codecarbon-2.8.4 codecarbon==2.8.4
	touch $@ $(VENV)/.installed-run

# The embedded default: SQLite in var/, Celery tasks in-process, DEBUG on for the local server only.
setup: $(VENV)/.installed-run
	DEBUG=1 $(BIN)/python manage.py migrate --no-input
	DEBUG=1 $(BIN)/python manage.py load_reference_data
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@# Every period's figures, the rollup and the budget alerts (their emails go to var/refresh_figures.log).
	DEBUG=1 $(BIN)/python manage.py refresh_figures --org acme > var/refresh_figures.log

run: setup
	@echo
	@echo "GreenGuild on http://$(HOST):$(PORT)/  —  demo login: user \"demo\", password \"demo\""
	@echo
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/pytest -c tests/pytest.ini tests

# Style, import contracts (.importlinter: layers, pure domain modules, no cycles), types against their
# baseline, and no model change without its migration. .pre-commit-config.yaml runs the same commands.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python .ci/mypy_check.py
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# Known vulnerabilities in the installed packages: live pip-audit when reachable, else the checked-in
# PyPA advisory snapshot (.ci/advisories/). Refresh the snapshot from a mirror of github.com/pypa/advisory-database:
#   make audit-refresh ADVISORY_DB=/path/to/advisory-database.git
.PHONY: audit audit-refresh
audit: $(VENV)/.installed-dev
	$(BIN)/python .ci/audit.py

audit-refresh: $(VENV)/.installed-dev
	@test -n "$(ADVISORY_DB)" || { echo "usage: make audit-refresh ADVISORY_DB=/path/to/advisory-database.git" >&2; exit 2; }
	$(BIN)/python .ci/audit.py --refresh $(ADVISORY_DB)

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var staticfiles
