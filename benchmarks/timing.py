"""Shared by the benchmarks: compose the real configs, time training steps inside Trainer.fit, medians."""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict
from pytorch_lightning.callbacks import Callback
from torch import nn

from mtl_lab.config import config_dir

#: What every benchmark run turns off: validation (the baselines have none), the progress bar, the model
#: summary and the test. The CSV logger stays on (the default a user gets).
QUIET = [
    "trainer.limit_val_batches=0",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "test=false",
]


#: The clock every timing uses: process CPU time by default, which other processes on a shared machine do
#: not inflate (with one torch thread and in-process data loading it is the step's own work), or wall
#: time (``use_clock("wall")``), which is what a user waits but swings with the machine's load.
_CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = time.process_time


def use_clock(name: str) -> None:
    global _clock
    _clock = _CLOCK[name]


def now() -> float:
    """The clock, once the work queued on a CUDA device is done (a GPU step's time, not its launch's)."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return _clock()


def compose_config(overrides: Sequence[str], output_dir: Path) -> DictConfig:
    """The config ``mtl-train <overrides>`` would run, writing under ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides))
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.log_dir = str(output_dir)
    return cfg


def quiet_lightning() -> None:
    """Benchmarks print one table; Lightning's info lines and known warnings would bury it."""
    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


class StepTimer(Callback):
    """Mean seconds per training step over the steps after ``warmup``, from one batch start to the start of
    the batch after the last: whole steps (data, forward, statistics, backward, optimizer step, logging,
    callbacks). A mean, not a median, so that the steps that write logs count as often as they happen."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.starts: list[float] = []

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        self.starts.append(now())

    @property
    def seconds_per_step(self) -> float:
        timed = self.starts[self.warmup :]
        return (timed[-1] - timed[0]) / (len(timed) - 1)


class CallTimer:
    """Mean seconds per call of ``module``'s forward after its first ``skip`` calls, by forward hooks (for a
    weighting: its own computation from the Gramian to the coefficients, solver included)."""

    def __init__(self, module: nn.Module, skip: int) -> None:
        self.skip = skip
        self.calls = 0
        self.seconds = 0.0
        self._start = 0.0
        module.register_forward_pre_hook(self._before)
        module.register_forward_hook(self._after)

    def _before(self, *_: Any) -> None:
        self._start = now()

    def _after(self, *_: Any) -> None:
        self.calls += 1
        if self.calls > self.skip:
            self.seconds += now() - self._start

    @property
    def seconds_per_call(self) -> float:
        return self.seconds / max(self.calls - self.skip, 1)


def ratios_to_neighbours(measured: Sequence[float], baselines: Sequence[float]) -> list[float]:
    """Each measurement divided by the mean of the baseline runs right before and after it (run as
    baseline, measured, baseline, measured, ..., baseline), so the machine's drift cancels."""
    if len(baselines) != len(measured) + 1:
        raise ValueError(f"need one baseline around each measurement: {len(measured)} and {len(baselines)}")
    pairs = zip(measured, baselines[:-1], baselines[1:], strict=True)
    return [m / ((before + after) / 2) for m, before, after in pairs]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "MISS"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def add_step_arguments(
    parser: argparse.ArgumentParser, steps: int, steps_help: str = "timed steps per run"
) -> None:
    """The options of the step-time benchmarks: --rounds, --steps, --warmup, --threads, --clock."""
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=steps, help=steps_help)
    parser.add_argument("--warmup", type=int, default=3, help="steps dropped at the start of each run")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier ratios)")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="process CPU time or wall time"
    )


def apply_step_arguments(args: argparse.Namespace) -> None:
    """Use the parsed --clock and --threads, and quiet Lightning for the one table."""
    use_clock(args.clock)
    torch.set_num_threads(args.threads)
    quiet_lightning()
