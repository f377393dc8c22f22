"""`make bench`'s scripts run as a user runs them (tiny settings: they must work, the numbers are not checked)."""

from __future__ import annotations

import os
import re
import subprocess

import cli_runner
import pytest
from conftest import REPO

BENCHMARKS = REPO / "benchmarks"
RATIO = r"\d+\.\d\dx"


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python <script> <args>`` in benchmarks/, as `make bench` runs it (forked with the imports done)."""
    return cli_runner.run_python(
        str(BENCHMARKS / script), args, cwd=BENCHMARKS, env=dict(os.environ), timeout=300
    )


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_weighting_step_time_prints_a_row_per_strategy_with_ratios_and_own_call_time() -> None:
    result = _run("weighting_step_time.py", "--weightings", "upgrad,dwa", "--rounds", "1", "--steps", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    tables = result.stdout.split("### ")[1:]
    assert [t.split(":")[0] for t in tables] == ["K=3 MultiDigits (cnn)", "K=10 GradNorm toy (mlp)"]
    for table in tables:
        header = "| strategy | last_shared_layer | representation | params | own call (ms) | target |"
        assert header in table
        # upgrad's default level is representation, marked *
        assert re.search(rf"\| upgrad \| {RATIO} \| {RATIO} \* \| {RATIO} \| \d+\.\d\d \|", table)
        no_gradients = rf"{RATIO} \(no gradients\)"
        assert re.search(
            rf"\| dwa \| {no_gradients} \| {no_gradients} \| {no_gradients} \| \d+\.\d\d \| - \|", table
        )
    assert re.search(r"\| upgrad \|.*\| <= 1.3x at representation: (PASS|MISS) \|", tables[1])


def test_weighting_step_time_names_an_unknown_strategy_and_the_choices() -> None:
    result = _run("weighting_step_time.py", "--weightings", "upgrd")
    assert result.returncode == 2
    assert "--weightings: unknown upgrd; choices: aligned_mtl, cagrad," in result.stderr.splitlines()[-1]


def test_framework_overhead_prints_both_arms_against_the_plain_loop() -> None:
    result = _run("framework_overhead.py", "--rounds", "1", "--epochs", "1", "data.train_size=512")
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"plain PyTorch loop: \d+ ms/epoch", out)
    for arm in ("the plain step as a bare LightningModule", "mtl_lab \\(fixed\\)"):
        assert re.search(rf"{arm}: \d+ ms/epoch, \d+\.\d{{3}}x plain \(median of 1 epochs;", out), arm
    assert re.search(r"mtl_lab / bare LightningModule: \d+\.\d{3}x", out)
    assert re.search(r"target mtl_lab <= 1.03x bare LightningModule: \d+\.\d{3}x (PASS|MISS)", out)


def test_architecture_step_time_prints_a_row_per_architecture_with_its_statistics_cost() -> None:
    result = _run("architecture_step_time.py", "--architectures", "shared", "--rounds", "1", "--steps", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| architecture | fixed | upgrad (representation) | statistics cost | target |" in result.stdout
    assert re.search(rf"\| shared \| 1\.00x \| {RATIO} \| {RATIO} \| <= 1.3x: (PASS|MISS) \|", result.stdout)


def test_architecture_step_time_names_an_unknown_architecture_and_the_choices() -> None:
    result = _run("architecture_step_time.py", "--architectures", "mmo")
    assert result.returncode == 2
    assert "--architectures: unknown mmo; choices: " in result.stderr.splitlines()[-1]


# two mtl-train commands (~10 s of imports each): make test-slow
@pytest.mark.slow
def test_sweep_parallelism_prints_each_launcher_against_one_job_at_a_time() -> None:
    tiny = ["data.train_size=128", "data.val_size=32", "data.test_size=32", "encoder.channels=[8,8]"]
    result = _run("sweep_parallelism.py", "--rounds", "1", "--jobs", "2", "--launchers", "parallel", *tiny)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    columns = ["launcher", "total (s)", "start-up (s)", "sweep (s)", "exit (s)", "CPU (s)", "jobs (s)"]
    assert "| " + " | ".join([*columns, "total", "sweep", "floor", "target"]) + " |" in out
    seconds = r"( \d+\.\d \|){6}"
    basic = re.search(
        rf"\| basic \(one job at a time\) \|{seconds} 1\.00x \| 1\.00x \| (\d\.\d\d)x \| - \|", out
    )
    assert basic and 0.0 < float(basic[2]) < 1.0, "one job at a time: its jobs are part of its sweep"
    assert re.search(
        rf"\| parallel \(forked jobs\) \|{seconds} {RATIO} \| {RATIO} \| {RATIO} \| <= 0.7x: (PASS|MISS) \|",
        out,
    )
    assert re.search(r"target parallel sweep <= 0.7x basic: \d+\.\d\dx (PASS|MISS)", out)
    assert re.search(r"floor \(its jobs' time / 2 workers / basic sweep\): \d+\.\d\dx", out)
    assert re.search(r"jobs alone \(its jobs' time / 2 workers / basic's jobs' time\): \d+\.\d\dx", out)


def test_text_throughput_prints_tokens_per_second_against_the_plain_loop() -> None:
    tiny = [
        "data.tiny_bert_config={hidden_size: 16, intermediate_size: 32}",
        "data.val_size=8",
        "data.test_size=8",
        "data.batch_size=8",
    ]
    result = _run("text_throughput.py", "--rounds", "1", "--steps", "2", "--warmup", "1", *tiny)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "| arm | tokens/s | tokens/s ÷ plain | target |" in out
    assert re.search(r"\| plain PyTorch \+ transformers \| \d+ \| 1\.00x \| - \|", out)
    assert re.search(rf"\| mtl_lab fixed \| \d+ \| {RATIO} \| >= 0.9x: (PASS|MISS) \|", out)
    assert re.search(
        rf"\| mtl_lab upgrad \(representation\) \| \d+ \| {RATIO} \| step time {RATIO} fixed, <= 1.3x: (PASS|MISS) \|",
        out,
    )
