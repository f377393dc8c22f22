"""`mtl-train` as a user runs it: subprocesses, exit codes, one-line errors, DDP on 2 CPU processes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FAST, SMALL_CNN, run_cli
from omegaconf import OmegaConf


def test_module_entry_point_trains_tests_and_writes_summary_where_asked(tmp_path: Path) -> None:
    run_dir = tmp_path / "my run"
    result = run_cli([*FAST, *SMALL_CNN, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert (run_dir / ".hydra" / "config.yaml").is_file() and (run_dir / "csv" / "metrics.csv").is_file()
    assert "task   kind" in result.stdout and "left   classification" in result.stdout
    assert f"summary: {run_dir}/summary.json" in result.stdout


def test_default_run_directory_is_under_outputs_of_the_working_directory(tmp_path: Path) -> None:
    result = run_cli([*FAST, *SMALL_CNN, "trainer.max_epochs=1", "test=false"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    summaries = list((tmp_path / "outputs" / "runs").glob("*/*/summary.json"))
    assert len(summaries) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["encoder.name=cnnn"],
            "mtl-train: error: encoder.name: unknown encoder 'cnnn'; choices: cnn, mlp, resnet, tabular, transformer; did you mean 'cnn'?",
        ),
        (
            ["trainer.max_epochs=abc"],
            "mtl-train: error: trainer.max_epochs: expected int or None, got 'abc' (str)",
        ),
    ],
)
def test_configuration_errors_exit_non_zero_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli([*args, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_the_installed_console_script_runs_mtl_train(tmp_path: Path) -> None:
    script = shutil.which("mtl-train", path=str(Path(sys.executable).parent))
    assert script is not None, "the mtl-train console script is installed"
    result = subprocess.run(
        [script, "trainer.max_epochs=abc", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "mtl-train: error: trainer.max_epochs: expected int or None, got 'abc' (str)"
    )


def test_divergence_exits_non_zero_with_one_line_and_diverged_summary(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = [
        *FAST,
        *SMALL_CNN,
        "trainer.max_epochs=4",
        "weighting.name=plugins:NaNAfter",
        "~weighting.weights",
        "+weighting.after=9",
        f"hydra.run.dir={run_dir}",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("mtl-train: error: training diverged at step 9: non-finite loss")
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["diverged_at_step"] == 9
    assert Path(summary["checkpoint"]).is_file()


# ~15 s each: make test-slow (the default suite's 2-process runs: every weighting's statistics on a table
# with missing labels, tests/weighting/test_contract.py, and the text model in bf16, tests/models/)
@pytest.mark.parametrize(
    ("weighting", "precision"),
    [
        pytest.param("gradnorm", "32-true", marks=pytest.mark.slow),
        pytest.param("uncertainty", "bf16-mixed", marks=pytest.mark.slow),
        pytest.param("gradnorm", "bf16-mixed", marks=pytest.mark.slow),
        pytest.param("uncertainty", "32-true", marks=pytest.mark.slow),
    ],
)
def test_ddp_on_two_cpu_processes_keeps_strategy_state_identical_on_every_rank(
    tmp_path: Path, weighting: str, precision: str
) -> None:
    run_dir = tmp_path / "run"
    args = [
        *FAST,
        *SMALL_CNN,
        "trainer=ddp_cpu",
        f"weighting={weighting}",
        f"trainer.precision={precision}",
        "+callbacks.rank_check._target_=plugins.RankConsistencyCheck",
        f"hydra.run.dir={run_dir}",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run_dir / "rank_check.json").read_text())
    assert report["world_size"] == 2 and report["checks"] == 4  # 256 samples / (64 x 2 ranks) x 2 epochs
    assert report["max_weighting_diff"] == 0.0 and report["max_param_diff"] == 0.0
    assert report["coefficients"][-1] != report["coefficients"][0], "the strategy's coefficients moved"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["train_samples_per_s"] > 0
    assert (run_dir / "train_ddp_process_1.log").is_file(), "rank 1 ran inside the same run directory"


def test_multirun_gives_every_job_its_own_directory_and_summary(tmp_path: Path) -> None:
    result = run_cli(["-m", "weighting=fixed,uncertainty", "debug=fast_dev_run", *FAST[-4:]], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    summaries = sorted((tmp_path / "outputs" / "multirun").glob("*/*/*/summary.json"))
    assert [p.parent.name for p in summaries] == ["0", "1"]
    overrides = [list(OmegaConf.load(p.parent / ".hydra" / "overrides.yaml")) for p in summaries]
    assert [o[0] for o in overrides] == ["weighting=fixed", "weighting=uncertainty"]
    assert all(json.loads(p.read_text())["status"] == "completed" for p in summaries)
