# The project's command vocabulary: the README, CI and humans use these words.
# uv: the one on PATH, else the private one `make run` installed into $(TOOLS)/ (so `make test`
# after a first `make run` on a machine without uv finds it), else plain `uv` (`make run`
# installs it). `make UV=/path/to/uv …` wins.
TOOLS ?= .tools
ifeq ($(origin UV),undefined)
UV := $(if $(shell command -v uv 2>/dev/null),uv,$(if $(wildcard $(TOOLS)/bin/uv),$(TOOLS)/bin/uv,uv))
endif
PYTEST_ARGS ?=
# Every target syncs first (exactly, from the lock), so runs need no implicit sync.
RUN = $(UV) run --no-sync

.PHONY: sync fmt lint typecheck test pytest test-unit run bench bench-bus bench-sim bench-ona chaos schemas up down

# Bytecode compiled ahead, as in the images (UV_COMPILE_BYTECODE): where PYTHONDONTWRITEBYTECODE is
# set, every process would otherwise compile what it imports (~1 s per service start here).
sync:
	$(UV) sync --all-packages --locked --compile-bytecode --quiet
	$(RUN) python -m compileall -q shared/src services/*/src simulators/*/src cli/src bench >/dev/null

fmt: sync
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

lint: sync
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports  # the architecture contracts of pyproject.toml [tool.importlinter]

# Every import package under a src/ folder of the workspace, type-checked as installed.
MYPY_PACKAGES = $(foreach d,$(wildcard shared/src/*/ services/*/src/*/ simulators/*/src/*/ cli/src/*/ localmode/src/*/),-p $(notdir $(patsubst %/,%,$(d))))

typecheck: sync
	$(RUN) mypy $(MYPY_PACKAGES)

# The test command of the README and CI: lint, types, then every test (unit, contract,
# integration against the RabbitMQ and PostgreSQL named by RABBITMQ_URL / DATABASE_URL).
test: lint typecheck
	$(RUN) pytest $(PYTEST_ARGS)

# Only the tests (no lint or types), for a quick loop.
pytest: sync
	$(RUN) pytest $(PYTEST_ARGS)

test-unit: sync
	$(RUN) pytest -m "not integration and not e2e" $(PYTEST_ARGS)

# The one-command local mode (see README "Local mode"): every stage in one process against
# seeded simulators; `make run ARGS=--follow` keeps polling. Needs only Python 3.11 and make:
# where $(UV) is not on PATH, a private uv is installed into $(TOOLS)/ first.
ARGS ?=

run:
	@if command -v $(UV) >/dev/null 2>&1; then uv="$(UV)"; \
	else \
	  if [ ! -x $(TOOLS)/bin/uv ]; then \
	    echo "uv not found: installing it into $(TOOLS)/ (python3 -m venv + pip install uv)"; \
	    python3 -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv || exit 1; \
	  fi; \
	  uv="$(TOOLS)/bin/uv"; \
	fi; \
	$$uv sync --all-packages --locked --quiet && $$uv run --no-sync casebridge-local $(ARGS)

# The chaos matrix (README "Reliability"): flows C1 and O1, every service its own process, on a
# RabbitMQ node and PostgreSQL cluster of its own, one fault per row; prints the table.
# `make chaos ARGS="--rows 'no fault,broker kill -9' --cases 80"` runs some rows.
chaos: sync
	$(RUN) python -m tests.chaos $(ARGS)

schemas: sync
	$(RUN) python -m casebridge.messages.schema_export shared/schemas

bench: bench-bus

bench-bus: sync
	$(RUN) python -m bench.bench_bus --messages 30000

# Options through ARGS, e.g. `make bench-cambodia ARGS="--latency-ms 200 --cases 2000"`.
bench-cambodia: sync
	$(RUN) python -m bench.bench_cambodia $(ARGS)

bench-sim: sync
	$(RUN) python -m bench.bench_sim

bench-ona: sync
	$(RUN) python -m bench.bench_ona

# docker compose: RabbitMQ, PostgreSQL, every service and simulator (needs Docker with compose;
# `.env` is created from `.env.example` on first use).
COMPOSE ?= docker compose

.env:
	cp .env.example .env

up: .env
	$(COMPOSE) up --build --detach --wait

down:
	$(COMPOSE) down --remove-orphans
