"""Sweep parallelism: the same short jobs one after another (basic launcher) and side by side, as commands.

Every arm is the command a user runs, timed by the wall clock from its start to its exit:

    python -m mtl_lab.train -m seed=1,2,3,4 trainer.max_epochs=1 hydra/launcher=<launcher> [OVERRIDE ...]

with ``basic`` (the baseline: one job at a time, torch on every core), ``parallel`` (mtl_lab's launcher:
jobs in processes forked from the sweep process, ``--workers`` at once, torch threads = cores // jobs at
once) and ``joblib`` (hydra-joblib-launcher: loky workers that import torch and Lightning again). Its
phases come from the files a multirun writes: start-up (command start -> ``multirun.yaml``: imports and
composition, the same for every launcher), sweep (-> the final ``sweep_summary.json``: the jobs, what a
launcher can run in parallel) and exit (-> the process's end); CPU is the CPU time of the command and
of every process it started; jobs is the sum of the jobs' own run times (``wall_time_s`` of their
``summary.json``). A round runs ``basic`` and then each launcher; a launcher's ratios are to the
``basic`` run of the same round, medians over rounds.

The floor of a launcher's sweep ratio is its jobs' time ÷ ``--workers`` ÷ the basic sweep: the ratio
of a launcher that packed its jobs perfectly and had nothing else to do. A job on its share of the
cores is slower than on all of them (on 2 cores a one-epoch MultiDigits job takes 1.4-1.5x as long
with 1 torch thread as with 2: the jobs column), so 2 jobs side by side take 0.7-0.75x the time of
the same jobs one after another (printed as *jobs alone*); Hydra's work around the jobs (composing
every job's config to validate the batch, writing each job's directory) adds to both arms.

    python benchmarks/sweep_parallelism.py [--rounds 2] [--jobs 4] [--workers 2] [--epochs 1]
        [--launchers parallel,joblib] [OVERRIDE ...]   (Hydra overrides for every job)

Target: the sweep of ``parallel`` <= 0.7x the sweep of ``basic`` (4 one-epoch MultiDigits jobs, 2 at a
time). The whole command's ratio is printed too: start-up and exit are the same in both, so it cannot
reach the sweep's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from timing import markdown_table, median, verdict

from mtl_lab.sweeps import SWEEP_SUMMARY_FILE
from mtl_lab.sweeps.threads import cpu_cores

TARGET = 0.7  # sweep of `parallel` / sweep of `basic`
LAUNCHERS = ("parallel", "joblib")
LABELS = {
    "basic": "basic (one job at a time)",
    "parallel": "parallel (forked jobs)",
    "joblib": "joblib (loky workers)",
}


@dataclass
class Arm:
    """Wall-clock phases of one launcher's runs (seconds) and their ratios to ``basic``."""

    total: list[float] = field(default_factory=list)
    startup: list[float] = field(default_factory=list)
    sweep: list[float] = field(default_factory=list)
    exit: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    jobs: list[float] = field(default_factory=list)
    total_ratio: list[float] = field(default_factory=list)
    sweep_ratio: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)


def run_sweep(
    launcher: str, args: argparse.Namespace, sweep_dir: Path
) -> tuple[float, float, float, float, float]:
    """One ``mtl-train -m`` command: its start-up, sweep and exit in seconds of wall time, the CPU
    seconds of all its processes (its jobs' too) and the sum of its jobs' own run times."""
    command = [
        sys.executable,
        "-m",
        "mtl_lab.train",
        "-m",
        "seed=" + ",".join(str(seed) for seed in range(1, args.jobs + 1)),
        f"trainer.max_epochs={args.epochs}",
        f"hydra/launcher={launcher}",
        f"hydra.sweep.dir={sweep_dir}",
        *([f"hydra.launcher.n_jobs={args.workers}"] if launcher != "basic" else []),
        *args.overrides,
    ]
    log = sweep_dir.with_suffix(".log")
    cpu_before = _children_cpu()
    with open(log, "w") as out:
        start = time.time()
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
        end = time.time()
    cpu = _children_cpu() - cpu_before
    if code != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise SystemExit(f"sweep_parallelism: {' '.join(command)} exited with {code}:\n{tail}")
    began = (sweep_dir / "multirun.yaml").stat().st_mtime
    ended = (sweep_dir / SWEEP_SUMMARY_FILE).stat().st_mtime
    jobs = sum(
        json.loads((sweep_dir / str(num) / "summary.json").read_text())["wall_time_s"]
        for num in range(args.jobs)
    )
    return began - start, ended - began, end - ended, cpu, jobs


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(launchers: list[str], args: argparse.Namespace, out: Path) -> dict[str, Arm]:
    arms = {name: Arm() for name in ["basic", *launchers]}
    for round_ in range(args.rounds):
        for name, arm in arms.items():
            startup, sweep, exit_, cpu, jobs = run_sweep(name, args, out / f"{name}_{round_}")
            arm.cpu.append(cpu)
            arm.jobs.append(jobs)
            arm.startup.append(startup)
            arm.sweep.append(sweep)
            arm.exit.append(exit_)
            arm.total.append(startup + sweep + exit_)
            arm.total_ratio.append(arm.total[-1] / arms["basic"].total[-1])
            arm.sweep_ratio.append(sweep / arms["basic"].sweep[-1])
            lanes = 1 if name == "basic" else args.workers
            arm.floor.append(jobs / lanes / arms["basic"].sweep[-1])
    return arms


def row(name: str, arm: Arm) -> list[str]:
    spread = f" ({min(arm.sweep_ratio):.2f}-{max(arm.sweep_ratio):.2f})" if len(arm.sweep_ratio) > 1 else ""
    target = f"<= {TARGET}x: {verdict(median(arm.sweep_ratio), TARGET)}" if name == "parallel" else "-"
    return [
        LABELS[name],
        *(f"{median(v):.1f}" for v in (arm.total, arm.startup, arm.sweep, arm.exit, arm.cpu, arm.jobs)),
        f"{median(arm.total_ratio):.2f}x",
        f"{median(arm.sweep_ratio):.2f}x{spread}",
        f"{median(arm.floor):.2f}x",
        target,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=4, help="jobs of the sweep (seeds 1..N)")
    parser.add_argument("--workers", type=int, default=2, help="jobs at once (hydra.launcher.n_jobs)")
    parser.add_argument("--epochs", type=int, default=1, help="trainer.max_epochs of every job")
    parser.add_argument(
        "--launchers",
        type=lambda text: [name for name in text.split(",") if name],
        default=list(LAUNCHERS),
        help="comma-separated launchers measured against basic",
    )
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides for every job, e.g. data.train_size=512"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.launchers) - set(LAUNCHERS))
    if unknown:
        parser.error(f"--launchers: unknown {', '.join(unknown)}; choices: {', '.join(LAUNCHERS)}")
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(
        f"# Sweep parallelism ({cpu_cores()} cores, wall clock, OMP_NUM_THREADS {threads}, "
        f"torch {torch.__version__})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        arms = measure(args.launchers, args, Path(tmp))
    print(
        f"\n{args.jobs} jobs (MultiDigits, {args.epochs} epoch(s) each), {args.workers} at a time, "
        f"{args.rounds} round(s); ratios to basic in the same round, medians (min-max)"
    )
    if args.overrides:
        print(f"overrides: {' '.join(args.overrides)}")
    print()
    header = [
        "launcher",
        "total (s)",
        "start-up (s)",
        "sweep (s)",
        "exit (s)",
        "CPU (s)",
        "jobs (s)",
        "total",
        "sweep",
        "floor",
        "target",
    ]
    print(markdown_table(header, [row(name, arm) for name, arm in arms.items()]))
    if "parallel" in arms:
        ratio = median(arms["parallel"].sweep_ratio)
        floor = median(arms["parallel"].floor)
        print(f"\ntarget parallel sweep <= {TARGET}x basic: {ratio:.2f}x {verdict(ratio, TARGET)}")
        print(f"floor (its jobs' time / {args.workers} workers / basic sweep): {floor:.2f}x")
        pairs = zip(arms["parallel"].jobs, arms["basic"].jobs, strict=True)
        jobs = [par / args.workers / one for par, one in pairs]
        print(
            f"jobs alone (its jobs' time / {args.workers} workers / basic's jobs' time): {median(jobs):.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
