# vpp — the two commands of the README, and what they are made of.
#   make run    set everything up, start the whole stack on this machine (vpp playground)
#   make test   set everything up, run linters and every test (real nats-server, MariaDB)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: run test setup lint typecheck imports pytest bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/vpp playground $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

imports: setup
	$(BIN)/lint-imports

# pytest exits 5 when it collected no test: that is a failure here, as any non-zero code.
pytest: setup
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

test: lint typecheck imports pytest

# each prints a table and writes bench/results/*.json; ratios are against a baseline of
# the same run (the machine is shared and noisy)
BENCHES ?= optimizer_bench sim_capacity gateway_sunspec iec61850_client_soak ingest dispatch_latency
bench: setup
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
