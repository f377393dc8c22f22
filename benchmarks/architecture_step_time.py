"""Time per training step of every registered architecture, with ``fixed`` and with ``upgrad`` (statistics at
the representation level), relative to ``shared`` with ``fixed``, in one process.

Setting: MultiDigits (K = 3, the default CNN encoder, batch 128), each architecture with its YAML defaults.
Every run is the real path a user runs (composed config -> MultiTaskModule -> Trainer.fit, CSV logger on, no
validation); a run's step time is the mean over its steps after the warm-up. A round runs the baseline
(``shared`` + ``fixed``) between every two measured runs and divides each by the mean of the two baselines
around it, so the machine's drift cancels; the table shows medians over rounds. "statistics cost" is the
architecture's ``upgrad`` step divided by its own ``fixed`` step (the cost of the representation-level
Gramian on that architecture).

    python benchmarks/architecture_step_time.py [--rounds 3] [--steps 20] [--warmup 3] [--threads 1]
        [--architectures mmoe,mtan]   (default: every registered architecture)

Target: statistics cost <= 1.3x for every architecture.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from timing import (
    QUIET,
    StepTimer,
    add_step_arguments,
    apply_step_arguments,
    compose_config,
    markdown_table,
    median,
    ratios_to_neighbours,
    verdict,
)

from mtl_lab.data import MultiTaskDataModule
from mtl_lab.experiment import build_datamodule, build_module, build_trainer
from mtl_lab.models.architectures import ARCHITECTURES

STATISTICS_TARGET = 1.3
BASELINE = ("shared", "fixed")
WEIGHTINGS = {
    "fixed": ["weighting=fixed"],
    "upgrad": ["weighting=upgrad", "weighting.grad_level=representation"],
}


def time_steps(
    architecture: str, weighting: str, datamodule: MultiTaskDataModule, args: argparse.Namespace, out: Path
) -> float:
    """Mean seconds per step of one short Trainer.fit of ``architecture`` with ``weighting``."""
    overrides = [
        f"architecture={architecture}",
        *WEIGHTINGS[weighting],
        *QUIET,
        "callbacks=none",
        f"trainer.max_steps={args.steps + args.warmup + 1}",
    ]
    cfg = compose_config(overrides, out)
    torch.manual_seed(0)
    module = build_module(cfg, datamodule)
    timer = StepTimer(args.warmup)
    build_trainer(cfg, [timer]).fit(module, datamodule=datamodule)
    return timer.seconds_per_step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_step_arguments(parser, 20)
    parser.add_argument(
        "--architectures",
        type=lambda text: [name for name in text.split(",") if name],
        default=ARCHITECTURES.names(),
        help="comma-separated registered names (default: all)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.architectures) - set(ARCHITECTURES.names()))
    if unknown:
        choices = ", ".join(ARCHITECTURES.names())
        parser.error(f"--architectures: unknown {', '.join(unknown)}; choices: {choices}")
    apply_step_arguments(args)
    measured_runs = [(a, w) for a in args.architectures for w in WEIGHTINGS if (a, w) != BASELINE]
    ratios: dict[tuple[str, str], list[float]] = {run: [] for run in measured_runs}
    baseline_ms: list[float] = []
    setting = f"CPU, {args.threads} thread(s), {args.clock} clock, torch {torch.__version__}"
    print(f"# Time per training step relative to `shared` + `fixed` (MultiDigits, K = 3; {setting})")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        size = 128 * (args.steps + args.warmup + 1)
        data = ["data.batch_size=128", f"data.train_size={size}", "data.val_size=16", "data.test_size=16"]
        datamodule = build_datamodule(compose_config([*data, *QUIET], out))
        datamodule.setup("fit")
        for _ in range(args.rounds):
            baselines = [time_steps(*BASELINE, datamodule, args, out)]
            measured = []
            for run in measured_runs:
                measured.append(time_steps(*run, datamodule, args, out))
                baselines.append(time_steps(*BASELINE, datamodule, args, out))
            baseline_ms += [1000 * s for s in baselines]
            for run, ratio in zip(measured_runs, ratios_to_neighbours(measured, baselines), strict=True):
                ratios[run].append(ratio)
    ratios[BASELINE] = [1.0] * args.rounds
    print(f"\n`shared` + `fixed` = {median(baseline_ms):.2f} ms/step (median of {len(baseline_ms)} runs)\n")
    rows = []
    for architecture in args.architectures:
        fixed, upgrad = ratios[(architecture, "fixed")], ratios[(architecture, "upgrad")]
        cost = median([u / f for u, f in zip(upgrad, fixed, strict=True)])
        rows.append(
            [
                architecture,
                f"{median(fixed):.2f}x",
                f"{median(upgrad):.2f}x",
                f"{cost:.2f}x",
                f"<= {STATISTICS_TARGET}x: {verdict(cost, STATISTICS_TARGET)}",
            ]
        )
    header = ["architecture", "fixed", "upgrad (representation)", "statistics cost", "target"]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
