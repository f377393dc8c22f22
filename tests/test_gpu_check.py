"""scripts/gpu_check.py (`make gpu-check`): nothing runs without CUDA; the checks and their report, with the
commands faked (no GPU needed)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import cli_runner
import pytest
from conftest import REPO

SCRIPT = REPO / "scripts" / "gpu_check.py"


@pytest.fixture
def gpu_check(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script as a module (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gpu_check", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_without_cuda_it_says_so_and_runs_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = cli_runner.run_python(str(SCRIPT), ["--logs", str(tmp_path)], cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == (
        "gpu-check: no CUDA device found (torch.cuda.is_available() is False); nothing was run"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_checks_of_one_gpu_and_of_two(gpu_check: ModuleType, tmp_path: Path) -> None:
    one = gpu_check.checks(1, tmp_path, repo=tmp_path)
    names = [c.name for c in one]
    assert names[:8] == [f"train/{w}/{p}" for w in gpu_check.WEIGHTINGS for p in ("16-mixed", "bf16-mixed")]
    assert names[8:] == ["ddp/2-gpus", "bench/weighting-bf16", "experiment/sentiment_ner", "fsdp/2-gpus"]
    assert one[8].skip == one[11].skip == "1 GPU(s), it needs 2"
    assert one[10].skip is None and "experiment=sentiment_ner" in one[10].command
    assert "trainer=gpu" in one[0].command and "trainer.precision=16-mixed" in one[0].command
    assert f"hydra.run.dir={tmp_path / 'train_fixed_16-mixed'}" in one[0].command
    bench = one[9].command
    assert bench[1].endswith("benchmarks/weighting_step_time.py")
    assert bench[2:8] == ["--accelerator", "gpu", "--precision", "bf16-mixed", "--clock", "wall"]
    two = gpu_check.checks(2, tmp_path, repo=tmp_path)
    assert two[8].skip is None and "trainer.devices=2" in two[8].command
    assert two[11].skip is None and {"trainer=fsdp", "weighting=upgrad"} <= set(two[11].command)


def _fake_runs(failing: dict[str, str]) -> Callable[[Sequence[str], Path, float], tuple[int, str]]:
    """Stands in for the commands: a training run writes its summary (``failing``: check dir -> how it
    fails), the benchmark prints its two tables."""

    def run(command: Sequence[str], log: Path, timeout: float) -> tuple[int, str]:
        run_dirs = [a.split("=", 1)[1] for a in command if a.startswith("hydra.run.dir=")]
        if not run_dirs:
            return 0, "### K=3 MultiDigits (cnn): ...\n### K=10 GradNorm toy (mlp): ...\n"
        run_dir = Path(run_dirs[0])
        how = failing.get(run_dir.name)
        if how == "exit":
            return 1, "Traceback ...\nRuntimeError: CUDA error: an illegal memory access\n"
        run_dir.mkdir(parents=True)
        loss = float("nan") if how == "nan" else 0.5
        summary = {"status": "completed", "metrics": {"train/loss": loss, "test/left/accuracy": 0.9}}
        (run_dir / "summary.json").write_text(json.dumps(summary))
        return 0, ""

    return run


def test_the_report_has_a_line_per_check_and_fails_if_one_failed(
    gpu_check: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(gpu_check.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gpu_check.torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(gpu_check.torch.cuda, "get_device_name", lambda index: "Fake GPU")
    failing = {"train_upgrad_16-mixed": "exit", "train_gradnorm_bf16-mixed": "nan"}
    monkeypatch.setattr(gpu_check, "run_command", _fake_runs(failing))
    assert gpu_check.main(["--logs", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"gpu-check: 1 x Fake GPU, torch \S+; logs: .+", lines[0])
    report = lines[1:-1]
    assert len(report) == 12
    assert re.fullmatch(r"PASS train/fixed/16-mixed \(\d+\.\d+s\)", report[0])
    assert report[5].startswith("FAIL train/gradnorm/bf16-mixed: metrics not finite: train/loss (log: ")
    assert report[6].startswith(
        "FAIL train/upgrad/16-mixed: exit status 1: RuntimeError: CUDA error: an illegal memory access (log: "
    )
    assert report[8] == "SKIP ddp/2-gpus: 1 GPU(s), it needs 2"
    assert re.fullmatch(r"PASS bench/weighting-bf16 \(\d+\.\d+s\)", report[9])
    assert re.fullmatch(r"PASS experiment/sentiment_ner \(\d+\.\d+s\)", report[10])
    assert report[11] == "SKIP fsdp/2-gpus: 1 GPU(s), it needs 2"
    assert lines[-1] == "8 passed, 2 failed"


def test_a_run_without_test_metrics_or_not_completed_fails(gpu_check: ModuleType, tmp_path: Path) -> None:
    assert gpu_check.completed_run(tmp_path, "") == f"no {tmp_path / 'summary.json'}"
    (tmp_path / "summary.json").write_text(json.dumps({"status": "diverged", "error": "training diverged"}))
    assert gpu_check.completed_run(tmp_path, "") == "status diverged: training diverged"
    (tmp_path / "summary.json").write_text(json.dumps({"status": "completed", "metrics": {"val/loss": 1.0}}))
    assert gpu_check.completed_run(tmp_path, "") == "no test metric in summary.json"
