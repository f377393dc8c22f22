"""Full-length reference runs (`make test-slow`): the default experiment and GradNorm's toy regression."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import run_cli

pytestmark = pytest.mark.slow
QUIET = ["~callbacks.rich_progress_bar", "trainer.enable_progress_bar=false"]


def test_default_experiment_learns_every_task(tmp_path: Path) -> None:
    result = run_cli([*QUIET, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "summary.json").read_text())["metrics"]
    assert metrics["test/left/accuracy"] > 0.85 and metrics["test/right/accuracy"] > 0.85
    assert metrics["test/sum/mae"] < 2.0


def test_gradnorm_toy_weights_settle_towards_the_small_scale_task(tmp_path: Path) -> None:
    result = run_cli(
        ["experiment=gradnorm_toy", *QUIET, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, timeout=900
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    weights = summary["weights"]
    assert sum(weights.values()) == pytest.approx(2.0, rel=1e-5)
    # sigma = (1, 100): the large-scale task's gradients are ~100x larger, so its weight shrinks
    assert weights["task_0"] > 1.9 and weights["task_1"] < 0.1
    # settled: the coefficient trajectory over the last third of training stays within a narrow band
    rows = [
        r
        for r in csv.DictReader((tmp_path / "run" / "csv" / "metrics.csv").open())
        if r.get("train/weight/task_1")
    ]
    tail = [float(r["train/weight/task_1"]) for r in rows[-len(rows) // 3 :]]
    assert max(tail) - min(tail) < 0.05
