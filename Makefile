# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint test-python install

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run relayflow on the embedded SQLite default at http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/relayflow serve

## Lint and type-check
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## The whole suite: Python tests on SQLite and on PostgreSQL
test-python: $(STAMP)
	RELAYFLOW_TEST_DB=sqlite $(BIN)/pytest -q
	RELAYFLOW_TEST_DB=postgres $(BIN)/pytest -q

test: test-python
