"""``make gpu-check``: run the GPU paths no CI machine can, on a machine with an NVIDIA GPU (< 5 min on one).

Each check is a command run as a user runs it (a process of its own); its output goes to
``<logs>/<check>.log``:

- ``train/<weighting>/<precision>``: ``mtl-train trainer=gpu trainer.precision=<precision>`` on a small
  MultiDigits run (``debug=limit``) for ``fixed``, ``uncertainty``, ``gradnorm`` and ``upgrad`` with
  ``16-mixed`` (a grad scaler) and ``bf16-mixed``: exit status 0, ``summary.json`` ``completed``, every
  metric finite, test metrics present;
- ``ddp/2-gpus``: the same with ``trainer=ddp trainer.devices=2 weighting=gradnorm`` (skipped with fewer
  than 2 GPUs);
- ``bench/weighting-bf16``: ``benchmarks/weighting_step_time.py`` on the GPU in bf16 (both tables,
  K = 3 and K = 10; the table is in the check's log);
- ``experiment/sentiment_ner``: ``experiment=sentiment_ner`` on the GPU (the whole run);
- ``fsdp/2-gpus``: one epoch of it with ``trainer=fsdp trainer.devices=2`` and UPGrad at the
  representation level (skipped with fewer than 2 GPUs).

It prints ``PASS <check> (<seconds>s)``, ``FAIL <check>: <reason>`` or ``SKIP <check>: <why>`` per check
and ``<N> passed, <N> failed`` last; the exit status is 1 if a check failed. Without a CUDA device it
says so and exits 0 having run nothing.

    python scripts/gpu_check.py [--logs outputs/gpu_check] [--timeout 240]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
TRAIN = [sys.executable, "-m", "mtl_lab.train"]
SMALL = ["debug=limit", "data.train_size=1024", "data.val_size=256", "data.test_size=256"]
WEIGHTINGS = ("fixed", "uncertainty", "gradnorm", "upgrad")
PRECISIONS = ("16-mixed", "bf16-mixed")
BENCH = ["--accelerator", "gpu", "--precision", "bf16-mixed", "--clock", "wall", "--rounds", "1"]
BENCH_WEIGHTINGS = "uncertainty,gradnorm,upgrad"

#: Reads a finished check's run directory and output; returns why it failed, or None.
Verify = Callable[[Path, str], str | None]


@dataclass(frozen=True)
class Check:
    name: str
    command: list[str] = field(default_factory=list)
    verify: Verify | None = None
    skip: str | None = None  # why it does not run here


@dataclass(frozen=True)
class Result:
    name: str
    status: str  # PASS, FAIL or SKIP
    seconds: float = 0.0
    reason: str = ""

    def line(self) -> str:
        if self.status == "PASS":
            return f"PASS {self.name} ({self.seconds:.1f}s)"
        return f"{self.status} {self.name}: {self.reason}"


def completed_run(run_dir: Path, output: str) -> str | None:
    """A run's ``summary.json`` says completed, has test metrics, and every metric is finite."""
    summary_file = run_dir / "summary.json"
    if not summary_file.is_file():
        return f"no {summary_file}"
    summary = json.loads(summary_file.read_text())
    if summary.get("status") != "completed":
        return f"status {summary.get('status')}: {summary.get('error')}"
    metrics = summary.get("metrics") or {}
    bad = sorted(k for k, v in metrics.items() if not isinstance(v, (int, float)) or not math.isfinite(v))
    if bad:
        return f"metrics not finite: {', '.join(bad[:5])}"
    if not any(name.startswith("test/") for name in metrics):
        return "no test metric in summary.json"
    return None


def both_tables(run_dir: Path, output: str) -> str | None:
    """The step-time benchmark printed its K = 3 and K = 10 tables."""
    missing = [k for k in ("### K=3", "### K=10") if k not in output]
    return f"no {' and no '.join(missing)} table in its output" if missing else None


def checks(device_count: int, logs: Path, repo: Path = REPO) -> list[Check]:
    """Every check, in the order they run, for a machine with ``device_count`` CUDA devices."""

    def train(name: str, *overrides: str) -> Check:
        return Check(
            name, [*TRAIN, *overrides, f"hydra.run.dir={logs / name.replace('/', '_')}"], completed_run
        )

    found = [
        train(f"train/{w}/{p}", "trainer=gpu", f"trainer.precision={p}", f"weighting={w}", *SMALL)
        for w in WEIGHTINGS
        for p in PRECISIONS
    ]
    ddp = train("ddp/2-gpus", "trainer=ddp", "trainer.devices=2", "weighting=gradnorm", *SMALL)
    found.append(ddp if device_count >= 2 else Check(ddp.name, skip=f"{device_count} GPU(s), it needs 2"))
    bench = [sys.executable, str(repo / "benchmarks" / "weighting_step_time.py"), *BENCH]
    found.append(Check("bench/weighting-bf16", [*bench, "--weightings", BENCH_WEIGHTINGS], both_tables))
    found.append(train("experiment/sentiment_ner", "experiment=sentiment_ner", "trainer=gpu"))
    fsdp = train(
        "fsdp/2-gpus",
        "experiment=sentiment_ner",
        "trainer=fsdp",
        "trainer.devices=2",
        "weighting=upgrad",
        "weighting.grad_level=representation",
        "trainer.max_epochs=1",
    )
    found.append(fsdp if device_count >= 2 else Check(fsdp.name, skip=f"{device_count} GPU(s), it needs 2"))
    return found


def run_command(command: Sequence[str], log: Path, timeout: float) -> tuple[int, str]:
    """Run ``command`` in the repository, its output into ``log``; its exit status and output."""
    try:
        done = subprocess.run(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
        )
        code, output = done.returncode, done.stdout
    except subprocess.TimeoutExpired as err:
        code, output = -1, f"{err.output or ''}\ntimed out after {timeout:.0f} s"
    log.write_text(output)
    return code, output


def run_check(check: Check, logs: Path, timeout: float) -> Result:
    if check.skip:
        return Result(check.name, "SKIP", reason=check.skip)
    log = logs / f"{check.name.replace('/', '_')}.log"
    start = time.perf_counter()
    code, output = run_command(check.command, log, timeout)
    seconds = time.perf_counter() - start
    if code != 0:
        last = next((line for line in reversed(output.splitlines()) if line.strip()), "")
        return Result(check.name, "FAIL", seconds, f"exit status {code}: {last.strip()[:200]} (log: {log})")
    run_dir = logs / check.name.replace("/", "_")
    reason = check.verify(run_dir, output) if check.verify else None
    return Result(
        check.name, "FAIL" if reason else "PASS", seconds, f"{reason} (log: {log})" if reason else ""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=Path, default=REPO / "outputs" / "gpu_check", help="where outputs go")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per check before it fails")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu-check: no CUDA device found (torch.cuda.is_available() is False); nothing was run")
        return 0
    logs = args.logs.resolve() / time.strftime("%Y-%m-%d_%H-%M-%S")
    logs.mkdir(parents=True)
    count = torch.cuda.device_count()
    print(f"gpu-check: {count} x {torch.cuda.get_device_name(0)}, torch {torch.__version__}; logs: {logs}")
    results = []
    for check in checks(count, logs):
        results.append(run_check(check, logs, args.timeout))
        print(results[-1].line(), flush=True)
    passed, failed = (sum(r.status == status for r in results) for status in ("PASS", "FAIL"))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
