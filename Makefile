# The two commands in the README: `make run` (set up, then run the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SHARED ?= ../shared
CASES := $(SHARED)/protocol/fixtures/router-golden/cases

.PHONY: run test lint lint-web bench setup conformance

setup: $(STAMP)

# llama-cpp-python (the `local` extra) compiles from source once (~6 min on 2 cores); pip's wheel
# cache makes every later install take seconds. Built for AVX2, not -march=native: on a VM that
# reports AVX-512 the native build crashed (SIGSEGV) on every prompt longer than one token, and a
# cached native wheel would also carry one machine's instructions to the next.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet -e '.[dev,local,learned,otel,postgres,redis]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/rolecall run

conformance: $(STAMP)
	$(BIN)/rolecall conformance $(CASES)
	$(BIN)/rolecall route $(CASES)/local-preference.json --explain

# Three test processes (pytest-xdist) on two cores: most tests wait on subprocesses, sockets and
# databases, so a third keeps the cores busy; each has its own PostgreSQL database and ports.
# The tests that run real llama.cpp inference take every core, which starved the others' idle-
# priority record writers past their waits: they run afterwards, in one process. Both parts always
# run; either failing fails the target.
test: $(STAMP)
	$(BIN)/pytest -q -n 3 -m "not local_models"; first=$$?; \
	$(BIN)/pytest -q -m local_models; second=$$?; \
	exit $$(( first | second ))

lint: $(STAMP) lint-web
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The console's JavaScript and CSS (vanilla ES modules, no build step), linted by Biome: one npm
# package plus its platform binary, pinned in package-lock.json; configuration in biome.json.
# npm ci rewrites node_modules/.package-lock.json, so it only runs again when the lock changes.
NPM_STAMP := node_modules/.package-lock.json
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund

lint-web: $(NPM_STAMP)
	node_modules/.bin/biome lint --error-on-warnings

bench: $(STAMP)
	$(BIN)/python bench/router_decision.py
