# mtl_lab: the two commands are `make train` and `make test`; both set everything up first.
# `make bench` prints the speed benchmarks (benchmarks/, a few minutes on 2 CPU cores).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# Extra Hydra overrides for `make train`, e.g. make train ARGS="weighting=gradnorm trainer.max_epochs=3"
ARGS ?=

.PHONY: setup train test test-slow bench lint format clean

setup: $(VENV)/.installed

# torch goes in first (the local CPU wheel) so pyproject's torch range is already met.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

train: setup
	$(BIN)/mtl-train $(ARGS)

test: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: setup
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# Framework overhead against a plain PyTorch loop, then every weighting's step time relative to `fixed`.
# BENCH_ARGS: options both take, e.g. BENCH_ARGS="--rounds 5 --threads 2 --clock wall"
bench: setup
	cd benchmarks && $(abspath $(BIN))/python framework_overhead.py $(BENCH_ARGS)
	cd benchmarks && $(abspath $(BIN))/python weighting_step_time.py $(BENCH_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) outputs multirun lightning_logs .pytest_cache .ruff_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
