# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB_SOURCES := $(shell find web/src web/index.html web/package.json web/package-lock.json web/vite.config.ts -type f 2>/dev/null)
# `make run PORT=8080 HOST=0.0.0.0` (RELAYFLOW_PORT / RELAYFLOW_HOST work too).
PORT ?=
HOST ?=
# The uv release that writes the lock files (`make lock`).
UV_VERSION := 0.13.9

.PHONY: run test lint test-python test-web test-wheel install web lock lock-upgrade fuzz test-faults

# Dependencies at the versions CI tested (requirements-dev.lock), then the project itself.
$(STAMP): pyproject.toml requirements-dev.lock
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
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

## Run relayflow on the embedded SQLite default at http://127.0.0.1:8000 (PORT=, HOST= to change)
run: $(STAMP) web
	$(BIN)/relayflow serve $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

## Lint and type-check
lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts hatch_build.py
	$(BIN)/ruff format --check src tests bench scripts hatch_build.py
	$(BIN)/mypy

# Random examples per operation in the API fuzz test (tests/api/test_openapi_fuzz.py),
# on top of its fixed coverage cases; 10 keeps it to a few minutes per database.
FUZZ_EXAMPLES ?= 10
FUZZ_SEED ?= 20261130

## Python tests on SQLite and the same tests on PostgreSQL, side by side (API fuzz test included)
test-python: $(STAMP)
	RELAYFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) bash scripts/test_python.sh

## Only the API fuzz test, on both databases: `make fuzz FUZZ_EXAMPLES=100 FUZZ_SEED=7`
fuzz: $(STAMP)
	RELAYFLOW_TEST_DB=sqlite RELAYFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		RELAYFLOW_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest -q -m fuzz tests/api
	RELAYFLOW_TEST_DB=postgres RELAYFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		RELAYFLOW_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest -q -m fuzz tests/api

## Only the fault tests (database outages, a frozen worker, a locked SQLite file), on both
## databases; a CI job can run them beside the rest (they are part of `make test` too)
test-faults: $(STAMP)
	RELAYFLOW_TEST_DB=sqlite $(BIN)/pytest -q -m faults tests/runtime
	RELAYFLOW_TEST_DB=postgres $(BIN)/pytest -q -m faults tests/runtime

## Web UI: component tests, then browser tests against `relayflow serve`
test-web: $(STAMP)
	bash web/ci.sh

## The wheel is the whole product: build, install in a fresh venv, serve, load / and /docs
test-wheel: $(STAMP)
	bash scripts/test_wheel.sh

## The whole suite: the wheel beside the Python suite (it mostly waits on pip and npm;
## each prints its output when it ends), then the web app on a quiet machine (its
## component tests time out under the Python suite's load; its npm ci would also race
## the wheel's web build in web/)
test: $(STAMP)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-wheel test-python
	$(MAKE) --no-print-directory test-web

## Regenerate the lock files after changing dependencies in pyproject.toml (keeps other pins)
lock:
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml $(UV_FLAGS) --universal --python-version 3.11 --quiet \
		-o requirements.lock
	$(BIN)/uv pip compile pyproject.toml $(UV_FLAGS) --extra dev --universal \
		--python-version 3.11 --quiet -o requirements-dev.lock

## Move every pin to the newest release the version ranges allow
lock-upgrade:
	$(MAKE) lock UV_FLAGS=--upgrade
