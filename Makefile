# Quick start: `make demo` runs the reconciler end to end against the built-in sandbox;
# `make test` runs every test. Both create .venv with python3 first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench sandbox clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/reconcile demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check reconciler tests scripts
	$(BIN)/ruff format --check reconciler tests scripts
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py

sandbox: $(STAMP)
	$(BIN)/reconcile sandbox

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
