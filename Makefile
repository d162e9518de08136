# PERFORM developer and CI entry points. `make help` lists them.
#
# Everything runs from ./.venv (created with python3.11 when missing). Requirements
# are re-installed only when requirements*.txt change (stamp files in .venv/).
# PostgreSQL and Redis are found or started by scripts/services.py; see
# docs/RUNNING.md for the fallbacks (embedded PostgreSQL, in-process tasks).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# python3.11, else a python3 that is 3.11 (checked when the venv is created).
PYTHON ?= $(shell command -v python3.11 || command -v python3 || echo python3.11)
VENV := .venv
VENV_PY := $(VENV)/bin/python
PIP := $(VENV_PY) -m pip
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

# Never prompt (CI has no stdin).
export PIP_NO_INPUT := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export DEBIAN_FRONTEND := noninteractive

# Exports DATABASE_URL / REDIS_URL / ... for a profile (run, test, bench) into the
# recipe's shell, starting services as needed. Assigning first makes a failure of
# services.py stop the recipe (`eval "$(...)"` alone would swallow it).
services_env = envs="$$($(VENV_PY) scripts/services.py env --profile $(1))"; eval "$$envs"

.PHONY: help
help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

# --- virtualenv ----------------------------------------------------------------
$(VENV_PY):
	@command -v $(PYTHON) >/dev/null || { \
		echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; \
		exit 1; }
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version'
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(VENV_PY)
	$(PIP) install --progress-bar off -r requirements.txt
	touch $@

# requirements-dev.txt includes requirements.txt, so it satisfies both stamps.
$(DEV_STAMP): requirements-dev.txt requirements.txt | $(VENV_PY)
	$(PIP) install --progress-bar off -r requirements-dev.txt
	touch $(RUNTIME_STAMP) $@

.PHONY: install install-dev
install: $(RUNTIME_STAMP)  ## Create .venv and install runtime requirements
install-dev: $(DEV_STAMP)  ## Create .venv and install dev/test requirements

# Debian's Chromium for the Playwright end-to-end tests (Playwright's own browser
# download cannot work here). Only runs when /usr/bin/chromium is missing.
/usr/bin/chromium:
	@echo "Installing Debian chromium for the end-to-end tests"
	@sudo=""; if [ "$$(id -u)" != 0 ]; then sudo="sudo"; fi; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium || { \
		echo "Could not install chromium: install it (apt-get install chromium)"; \
		exit 1; }

# GNU gettext (Debian's package) for `make messages` and the translation tests
# (tests/crf/epro/test_languages.py runs makemessages and msgfmt --check). The
# served app needs none of it: the compiled .mo files are committed.
/usr/bin/msgfmt:
	@echo "Installing Debian gettext for the translation tools"
	@sudo=""; if [ "$$(id -u)" != 0 ]; then sudo="sudo"; fi; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q gettext || { \
		echo "Could not install gettext: install it (apt-get install gettext)"; \
		exit 1; }

# R (Debian's packages) for the stored R references of the between-arm statistics
# and boundaries. CI never runs R: tests read tests/outcomes/r/comparisons.json.
# Installs only when Rscript or one of the R packages is missing.
R_PACKAGES := survival cmprsk rpact jsonlite

.PHONY: r-references
r-references:  ## Install R from Debian and regenerate tests/outcomes/r/comparisons.json
	@missing=""; \
	command -v Rscript >/dev/null || missing="r-base-core"; \
	for pkg in $(R_PACKAGES); do \
		{ command -v Rscript >/dev/null && \
			Rscript -e "quit(status = !requireNamespace('$$pkg', quietly = TRUE))" \
			>/dev/null 2>&1; } || missing="$$missing r-cran-$$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing from Debian:$$missing"; \
		sudo=""; if [ "$$(id -u)" != 0 ]; then sudo="sudo"; fi; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || { \
			echo "Could not install R: apt-get install$$missing"; \
			exit 1; }; \
	fi
	Rscript tests/outcomes/r/comparisons.R

# --- running -------------------------------------------------------------------
.PHONY: run
run: $(RUNTIME_STAMP)  ## Run web + Celery worker + beat (PORT=8000, HOST=127.0.0.1)
	$(VENV_PY) scripts/run.py

.PHONY: migrate
migrate: $(RUNTIME_STAMP)  ## Apply database migrations (as the owner role)
	@$(call services_env,run); \
	DATABASE_URL="$$DATABASE_OWNER_URL" $(VENV_PY) manage.py migrate --noinput

.PHONY: seed
seed: $(RUNTIME_STAMP)  ## Load the demo sites and users (manage.py seed_demo)
	@$(call services_env,run); \
	DATABASE_URL="$$DATABASE_OWNER_URL" $(VENV_PY) manage.py migrate --noinput; \
	DATABASE_URL="$$DATABASE_OWNER_URL" $(VENV_PY) manage.py seed_demo

.PHONY: shell
shell: $(RUNTIME_STAMP)  ## Django shell against the local database
	@$(call services_env,run); \
	$(VENV_PY) manage.py shell

# --- checks --------------------------------------------------------------------
.PHONY: test
test: $(DEV_STAMP) /usr/bin/chromium /usr/bin/msgfmt  ## Run pytest (PYTEST_ARGS="-k name -x")
	@$(call services_env,test); \
	mkdir -p var/static var/media; \
	status=0; $(VENV)/bin/pytest $(PYTEST_ARGS) || status=$$?; \
	if [ "$$status" = 5 ]; then echo "pytest collected no tests"; status=0; fi; \
	exit "$$status"

.PHONY: lint
lint: $(DEV_STAMP)  ## ruff check + ruff format --check + the layer check (lint-imports)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/lint-imports --no-cache || status=1; \
	exit "$$status"

.PHONY: bench
bench: $(DEV_STAMP)  ## Run benchmarks/*.py (not common.py, their shared harness)
	@shopt -s nullglob; files=(); \
	for file in benchmarks/*.py; do [ "$$file" = benchmarks/common.py ] || files+=("$$file"); done; \
	if [ "$${#files[@]}" = 0 ]; then echo "no benchmarks yet"; exit 0; fi; \
	$(call services_env,bench); \
	export PYTHONPATH="$$PWD$${PYTHONPATH:+:$$PYTHONPATH}"; \
	status=0; \
	for file in "$${files[@]}"; do \
		echo "=== $$file"; \
		$(VENV_PY) "$$file" || { echo "FAILED: $$file"; status=1; }; \
	done; \
	exit "$$status"

# --- translations --------------------------------------------------------------
# The patient-facing text (survey pages, invitations, reminders) in every
# language under locale/ (README "Languages"). makemessages reads our code only;
# the compiled .mo files are committed, and tests/crf/epro/test_languages.py
# fails when a .mo no longer matches its .po or a translation is missing.
I18N_IGNORE := --ignore=.venv --ignore='.venv/*' --ignore=var --ignore='var/*' \
	--ignore=node_modules --ignore='node_modules/*' --ignore='tests/*' \
	--ignore='static/*'

.PHONY: messages
messages: $(RUNTIME_STAMP) /usr/bin/msgfmt  ## Extract and compile the translations (locale/); list what is left to translate
	export DJANGO_SETTINGS_MODULE=config.settings.test; \
	$(VENV_PY) manage.py makemessages --all --no-obsolete --add-location=file $(I18N_IGNORE); \
	$(VENV_PY) manage.py compilemessages $(I18N_IGNORE)
	@$(VENV_PY) scripts/translations_missing.py || true

# --- cleaning ------------------------------------------------------------------
# Stop the embedded PostgreSQL before deleting its data directory: a server
# whose files vanish keeps running. stop needs only the standard library.
.PHONY: clean
clean:  ## Stop the embedded PostgreSQL; remove .venv, var/ and caches
	@py=$$(command -v python3 || command -v $(PYTHON)); \
	"$$py" scripts/services.py stop
	@rm -rf var || { \
		echo "Could not remove var/ (var/pgdata may belong to another user):"; \
		echo "  sudo rm -rf var"; exit 1; }
	rm -rf $(VENV) .pytest_cache .ruff_cache test-results playwright-report
	find . -path ./.git -prune -o -name __pycache__ -type d -prune \
		-exec rm -rf {} +
