# Two commands do everything: `make demo` and `make test` (both run `make setup`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup system-deps test lint typecheck unit demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	PYTHON=$(PYTHON) bash scripts/setup.sh
	@touch $(STAMP)

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup
	$(BIN)/mypy

system-deps:
	bash scripts/system-deps.sh

# Two workers, a test file each at a time: most tests wait on real processes
# (nodes, servers, a browser), so two run side by side on two cores.
test: system-deps lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile

demo: setup
	$(BIN)/kith demo

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage* bench/results
