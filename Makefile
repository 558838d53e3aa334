# The project's command vocabulary: the README, CI and humans use these words.
UV ?= uv
PYTEST_ARGS ?=

.PHONY: sync fmt lint typecheck test test-unit bench bench-bus bench-sim schemas

sync:
	$(UV) sync --all-packages --frozen 2>/dev/null || $(UV) sync --all-packages

fmt: sync
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .

# Every import package under a src/ folder of the workspace, type-checked as installed.
MYPY_PACKAGES = $(foreach d,$(wildcard shared/src/*/ services/*/src/*/ simulators/*/src/*/ cli/src/*/),-p $(notdir $(patsubst %/,%,$(d))))

typecheck: sync
	$(UV) run mypy $(MYPY_PACKAGES)

test: sync
	$(UV) run pytest $(PYTEST_ARGS)

test-unit: sync
	$(UV) run pytest -m "not integration and not e2e" $(PYTEST_ARGS)

schemas: sync
	$(UV) run python -m casebridge.messages.schema_export shared/schemas

bench: bench-bus

bench-bus: sync
	$(UV) run python -m bench.bench_bus --messages 30000

bench-sim: sync
	$(UV) run python -m bench.bench_sim
