# Wallboard: the one entry point for people and CI. `make help` lists the targets.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help demo test lint typecheck pytest bench fmt services compile clean screenshots

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Wallboard needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The statistics engine's hot modules compiled by Cython (tools/compile-engine); the same code
# runs as Python without them. Only what changed is rebuilt. It prints each module's progress;
# the tools' warnings go to the log, shown when the build fails. Where it cannot be built (no C
# compiler), the old builds are removed and the engine runs as Python: slower, same results.
compile: $(STAMP) ## Compile the statistics engine's hot modules (Cython; runs as Python without)
	@$(BIN)/python tools/compile-engine 2>$(VENV)/compile.log || { \
		rm -f src/wallboard/stats/*.so; tail -n 20 $(VENV)/compile.log; \
		echo "make compile: could not compile (log: $(VENV)/compile.log); the statistics engine runs as Python"; }

demo: compile ## Set up and run the whole system in one process, fed by a simulated contact center
	$(BIN)/wallboard demo

test: $(STAMP) services lint typecheck pytest ## Set up, then lint, type-check and run every test

services: ## Make sure PostgreSQL and Redis answer (start them when installed but stopped)
	@bash tools/ensure-services

lint: $(STAMP) ## ruff: lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP) ## mypy (strict for core and stats)
	$(BIN)/mypy

pytest: compile ## Run the test suite
	$(BIN)/pytest $(PYTEST_ARGS)

bench: compile ## Run the benchmarks; each prints its figures
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

screenshots: compile ## Retake the UI screenshots in docs/images (the browser tests that take them)
	WALLBOARD_SCREENSHOTS=docs $(BIN)/pytest -q tests/ui -k "screenshot or large_type"

fmt: $(STAMP) ## Format the code and apply safe lint fixes
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean: ## Remove the virtual environment, caches and the compiled engine
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis src/wallboard/stats/*.so
