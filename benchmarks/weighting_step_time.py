"""Time per training step of every registered weighting, relative to ``fixed``, in one process.

Settings: K = 3 (MultiDigits, the default CNN, batch 128) and K = 10 (GradNorm's toy regression with ten
task scales, the paper's 4 x 100 MLP, batch 100); each strategy that measures gradients runs at every
``grad_level`` (``last_shared_layer``, ``representation``, ``params``; its default is marked ``*``);
strategies that need no gradient statistics have one time (the level does not apply to them). Every run
is the real path a user runs (composed config -> MultiTaskModule -> Trainer.fit, CSV logger on, no
validation); a run's step time is the mean over its steps after the warm-up (logging steps included). A
round runs ``fixed`` between every two strategies (fixed, A, fixed, B, ..., fixed) and divides each
strategy's step time by the mean of the two ``fixed`` runs around it, so the machine's drift cancels;
the table shows the median of those ratios over rounds. The column "own call" is the strategy's own
computation per step (the weighting module's forward: from the losses and statistics to the
coefficients, torchjd's solver included) at its default level, in ms; the rest of the extra time over
``fixed`` is the statistics (the gradient passes).

    python benchmarks/weighting_step_time.py [--rounds 3] [--steps 20] [--warmup 3] [--threads 1]
        [--weightings upgrad,gradnorm]   (default: every registered weighting)
        [--accelerator gpu --precision bf16-mixed --clock wall]   (default: cpu, 32-true, cpu clock)

Targets (CPU): ``gradnorm`` <= 1.15x ``fixed``; Gramian strategies at representation level <= 1.3x
``fixed`` at K = 10.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import DictConfig
from timing import (
    QUIET,
    CallTimer,
    StepTimer,
    add_step_arguments,
    apply_step_arguments,
    compose_config,
    markdown_table,
    median,
    ratios_to_neighbours,
    verdict,
)

from mtl_lab.config import config_dir
from mtl_lab.data import MultiTaskDataModule
from mtl_lab.experiment import build_datamodule, build_module, build_trainer
from mtl_lab.weighting import WEIGHTINGS

SETTINGS: dict[str, list[str]] = {
    "K=3 MultiDigits (cnn)": ["data=multi_digits", "encoder=cnn"],
    "K=10 GradNorm toy (mlp)": [
        "data=gradnorm_toy",
        "encoder=mlp",
        "encoder.hidden_dims=[100,100,100,100]",
        "data.sigmas=[1,2,5,10,20,50,100,0.5,3,30]",
        "data.input_std=0.01",
    ],
}
LEVELS = ("last_shared_layer", "representation", "params")
GRADNORM_TARGET = 1.15
GRAMIAN_TARGET = 1.3  # at representation level, K = 10


@dataclass
class Variant:
    weighting: str
    level: str | None  # None: the strategy needs no gradients (one column)
    default: bool = True  # the strategy's default grad_level (or no level)
    ratios: list[float] = field(default_factory=list)
    step_ms: list[float] = field(default_factory=list)
    call_ms: list[float] = field(default_factory=list)

    @property
    def overrides(self) -> list[str]:
        return [f"weighting={self.weighting}"] + (
            [f"weighting.grad_level={self.level}"] if self.level else []
        )


def variants(names: list[str]) -> tuple[list[Variant], list[str]]:
    """Each named weighting at each level it can run at, and why any were left out."""
    found, skipped = [], []
    for name in names:
        if not (config_dir() / "weighting" / f"{name}.yaml").is_file():
            skipped.append(f"{name}: no conf/weighting/{name}.yaml to compose")
            continue
        builder = WEIGHTINGS.resolve(name)
        needs_grads = bool(getattr(builder, "requires", frozenset()) & {"grad_norms", "gramian"})
        if not needs_grads:
            found.append(Variant(name, None))
        elif "grad_level" in (parameters := inspect.signature(builder).parameters):
            default = parameters["grad_level"].default
            found += [Variant(name, level, default=level == default) for level in LEVELS]
        else:
            skipped.append(f"{name}: measures gradients but takes no grad_level; timed at its own level")
            found.append(Variant(name, None))
    return found, skipped


@functools.cache
def composed(overrides: tuple[str, ...], out: Path) -> DictConfig:
    return compose_config(list(overrides), out)


def time_steps(
    overrides: list[str], datamodule: MultiTaskDataModule, steps: int, warmup: int, out: Path
) -> tuple[float, float]:
    """Mean seconds per step of one short Trainer.fit (``steps`` timed steps after ``warmup``), and mean
    seconds per call of its weighting over the same steps."""
    cfg = composed((*overrides, *QUIET, "callbacks=none", f"trainer.max_steps={steps + warmup + 1}"), out)
    torch.manual_seed(0)
    module = build_module(cfg, datamodule)
    calls = CallTimer(module.weighting, skip=warmup)
    timer = StepTimer(warmup)
    trainer = build_trainer(cfg, [timer])
    trainer.fit(module, datamodule=datamodule)
    return timer.seconds_per_step, calls.seconds_per_call


def run_setting(
    name: str, base: list[str], found: list[Variant], args: argparse.Namespace, out: Path
) -> None:
    batch = 128 if "multi_digits" in base[0] else 100
    size = batch * (args.steps + args.warmup + 1)
    trainer = [f"trainer.accelerator={args.accelerator}", f"trainer.precision={args.precision}"]
    data = [*base, f"data.train_size={size}", "data.val_size=16", "data.test_size=16", *trainer]
    datamodule = build_datamodule(compose_config([*data, *QUIET], out))
    datamodule.setup("fit")
    fixed = Variant("fixed", None)

    def step_seconds(variant: Variant) -> float:
        seconds, call_s = time_steps([*data, *variant.overrides], datamodule, args.steps, args.warmup, out)
        variant.step_ms.append(1000 * seconds)
        variant.call_ms.append(1000 * call_s)
        return seconds

    for _ in range(args.rounds):
        baselines, measured = [step_seconds(fixed)], []
        for variant in found:
            measured.append(step_seconds(variant))
            baselines.append(step_seconds(fixed))
        for variant, ratio in zip(found, ratios_to_neighbours(measured, baselines), strict=True):
            variant.ratios.append(ratio)
    runs = len(fixed.step_ms)
    print(f"\n### {name}: fixed = {median(fixed.step_ms):.2f} ms/step (median of {runs} runs)\n")
    k10 = name.startswith("K=10")
    rows = []
    for weighting in dict.fromkeys(v.weighting for v in found):
        cells = {v.level: v for v in found if v.weighting == weighting}
        row = [weighting]
        for level in LEVELS:
            variant = cells.get(level) or cells.get(None)
            ratio = median(variant.ratios)
            mark = " (no gradients)" if None in cells else " *" if variant.default else ""
            row.append(f"{ratio:.2f}x{mark}")
        (own,) = [v for v in cells.values() if v.default]
        row.append(f"{median(own.call_ms):.2f}")
        row.append(target_verdict(weighting, cells, k10))
        rows.append(row)
    print(markdown_table(["strategy", *LEVELS, "own call (ms)", "target"], rows))
    print("\n`*`: the strategy's default `grad_level`")


def target_verdict(weighting: str, cells: dict[str | None, Variant], k10: bool) -> str:
    builder = WEIGHTINGS.resolve(weighting)
    if weighting == "gradnorm":
        verdicts = [f"{level} {verdict(median(cells[level].ratios), GRADNORM_TARGET)}" for level in LEVELS]
        return f"<= {GRADNORM_TARGET}x: " + ", ".join(verdicts)
    if k10 and "gramian" in getattr(builder, "requires", frozenset()) and "representation" in cells:
        ratio = median(cells["representation"].ratios)
        return f"<= {GRAMIAN_TARGET}x at representation: {verdict(ratio, GRAMIAN_TARGET)}"
    return "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_step_arguments(parser, 20, "timed steps per run (one logs)")
    parser.add_argument(
        "--accelerator", default="cpu", help="trainer.accelerator: cpu, or gpu (with --clock wall)"
    )
    parser.add_argument("--precision", default="32-true", help="trainer.precision, e.g. bf16-mixed")
    parser.add_argument(
        "--weightings",
        type=lambda text: [name for name in text.split(",") if name],
        default=WEIGHTINGS.names(),
        help="comma-separated registered names (default: all)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.weightings) - set(WEIGHTINGS.names()))
    if unknown:
        parser.error(f"--weightings: unknown {', '.join(unknown)}; choices: {', '.join(WEIGHTINGS.names())}")
    apply_step_arguments(args)
    found, skipped = variants(args.weightings)
    setting = (
        f"{args.accelerator.upper()} {args.precision}, {args.threads} thread(s), {args.clock} clock, "
        f"torch {torch.__version__}"
    )
    print(f"# Time per training step relative to `fixed` ({setting})")
    for reason in skipped:
        print(f"skipped {reason}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, base in SETTINGS.items():
            run_setting(name, base, [v for v in found if v.weighting != "fixed"], args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
