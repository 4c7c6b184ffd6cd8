# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_SOURCES := $(shell find web/src web/index.html web/package.json web/vite.config.ts -type f 2>/dev/null)

.PHONY: run test lint test-python test-web install web fuzz

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The web UI's production build, remade when its sources change (needs Node 20 + npm).
web/dist/index.html: $(WEB_SOURCES)
	@if command -v npm >/dev/null 2>&1; then \
		cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else \
		echo "npm not found: serving the API only (install Node.js 20 for the web UI)"; \
	fi

web: web/dist/index.html

## Run relayflow on the embedded SQLite default at http://127.0.0.1:8000
run: $(STAMP) web
	$(BIN)/relayflow serve

## Lint and type-check
lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Random examples per operation in the API fuzz test (tests/api/test_openapi_fuzz.py),
# on top of its fixed coverage cases; 10 keeps it to a few minutes per database.
FUZZ_EXAMPLES ?= 10
FUZZ_SEED ?= 20261130

## Python tests on SQLite, then the same tests on PostgreSQL (the API fuzz test included)
test-python: $(STAMP)
	RELAYFLOW_TEST_DB=sqlite RELAYFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q
	RELAYFLOW_TEST_DB=postgres RELAYFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q

## Only the API fuzz test, on both databases: `make fuzz FUZZ_EXAMPLES=100 FUZZ_SEED=7`
fuzz: $(STAMP)
	RELAYFLOW_TEST_DB=sqlite RELAYFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		RELAYFLOW_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest -q -m fuzz tests/api
	RELAYFLOW_TEST_DB=postgres RELAYFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		RELAYFLOW_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest -q -m fuzz tests/api

## Web UI: component tests, then browser tests against `relayflow serve`
test-web: $(STAMP)
	bash web/ci.sh

## The whole suite
test: test-python test-web
