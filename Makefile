# Dropwire: two commands for users (`make run`, `make test`), a few for developers.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint fmt bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Installs exactly what uv.lock pins (all services, the embedded Redis, dev tools).
install: $(UV)
	$(UV) sync --frozen --all-extras --python $(PYTHON)

# Starts the whole pipeline: watches ./inbox, writes ./outbox (embedded Redis unless
# DROPWIRE_REDIS_URL is set). Stop with Ctrl-C.
run: install
	$(VENV)/bin/dropwire up

# The whole suite: lint, types, unit, integration and end-to-end tests against a real Redis.
test: install lint
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The benchmark (docs/benchmarks.md): model, enricher, end to end, latency, ingest, RSS.
# About 30 minutes; BENCH_ARGS=--quick for a 2-minute run.
bench: install
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(TOOLS) $(VENV) .mypy_cache .ruff_cache .pytest_cache
