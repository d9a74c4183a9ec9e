# The two commands of the README: `make run` and `make test`. Everything installs from
# requirements.lock into .venv, so a fresh machine runs exactly what CI tested; the few Debian
# libraries WeasyPrint renders letters with come first (.ci/system-packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest bench run clean lock

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml .ci/system-packages
	bash .ci/system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --requirement requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $(STAMP)

test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy domain persistence application projections infrastructure api

# Two workers side by side (tests keep to their own schema, file and port; a worker that
# runs out of tests takes over the other's queue), then the few that must run alone (they
# look at what the whole database keeps on disk), collected from their own modules only
# (tests/serial.py). For speed only, never for what a test decides:
# - bytecode is written even where the environment says not to: every test process and
#   every process a test starts would otherwise compile the code and rewrite the tests'
#   asserts again (15 s of CPU per collection);
# - the tests' files (SQLite databases, letters) go to memory where /dev/shm has room: a
#   SQLite commit waits 3-12 ms for the disk, 0.2 ms in memory;
# - the tests' PostgreSQL sessions commit without waiting for the WAL to reach the disk
#   (6-8 ms a commit, under 1 ms without): what a commit makes visible is the same, only a
#   crash of the server could lose it, and the test database is thrown away.
TEST_TMPDIR := $(shell df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 && $$4 > 4194304 { print "/dev/shm" }')
TEST_ENV := env -u PYTHONDONTWRITEBYTECODE $(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR)) \
	PGOPTIONS="$${PGOPTIONS:-} -c synchronous_commit=off"

# axe-core, the accessibility checker the console's browser test injects into each page
# (pinned; from the npm registry, into the venv). Without npm the browser test skips on a
# laptop and fails under CI=true.
AXE_VERSION := 4.14.1
AXE := $(VENV)/axe/.installed-$(AXE_VERSION)

$(AXE):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(VENV)/axe --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION) \
		&& touch $@; \
	else \
		echo "npm is missing: axe-core $(AXE_VERSION) not installed (the console's browser test needs it)" >&2; \
	fi

pytest: install $(AXE)
	bash .ci/system-packages test
	$(TEST_ENV) $(BIN)/pytest -n 2 --dist worksteal -m "not serial"
	$(TEST_ENV) $(BIN)/pytest -m serial $$($(BIN)/python -m tests.serial)

run: install
	$(BIN)/vorgang serve --demo --dev

bench: install
	$(BIN)/python -m benchmarks

# Regenerates the lock from pyproject.toml's ranges (run after changing a dependency).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --disable-pip-version-check --upgrade ".[dev]" setuptools
	.venv-lock/bin/python -m pip freeze --all --exclude vorgang --exclude pip > requirements.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
