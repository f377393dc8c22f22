# mtl_lab: the two commands are `make train` and `make test`; both set everything up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# Extra Hydra overrides for `make train`, e.g. make train ARGS="weighting=gradnorm trainer.max_epochs=3"
ARGS ?=

.PHONY: setup train test test-slow lint format clean

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

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) outputs multirun lightning_logs .pytest_cache .ruff_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
