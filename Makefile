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
# (tests/serial.py). Bytecode is written even where the environment says not to: every
# test process and every process a test starts would otherwise compile the code and
# rewrite the tests' asserts again (15 s of CPU per collection).
pytest: install
	bash .ci/system-packages test
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n 2 --dist worksteal -m "not serial"
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -m serial $$($(BIN)/python -m tests.serial)

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
