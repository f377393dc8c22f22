"""``mtl-train resume=<run dir>``: a run killed with SIGKILL, resumed, ends as if never interrupted."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import FAST, SMALL_CNN, run_cli
from omegaconf import OmegaConf

#: Dropout (the global RNG matters), uncertainty weighting (learned state in the optimizer), a cosine
#: schedule, 4 steps per epoch, 2 epochs, last.ckpt after every step.
TINY = [
    *FAST,
    *SMALL_CNN,
    "encoder.dropout=0.3",
    "weighting=uncertainty",
    "scheduler=cosine",
    "checkpoint_every_n_steps=1",
]
STEPS_PER_EPOCH = 4


def kill_at(step: int, at: str = "train") -> list[str]:
    """The test plug-in that SIGKILLs the run as training step ``step`` starts (or as testing starts)."""
    return [
        "+callbacks.kill._target_=plugins.SigkillAt",
        f"+callbacks.kill.step={step}",
        f"+callbacks.kill.at={at}",
    ]


def summary(run: Path) -> dict[str, Any]:
    return json.loads((run / "summary.json").read_text())


def metrics_difference(a: dict[str, Any], b: dict[str, Any]) -> float:
    """The largest absolute difference between two summaries' metrics (same names required)."""
    assert a["metrics"].keys() == b["metrics"].keys()
    values = [(a["metrics"][k], b["metrics"][k]) for k in a["metrics"]]
    assert all((x is None) == (y is None) for x, y in values)
    return max(abs(x - y) for x, y in values if x is not None)


def csv_rows(run: Path) -> list[dict[str, str]]:
    with (run / "csv" / "metrics.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def same_rows(a: list[dict[str, str]], b: list[dict[str, str]]) -> bool:
    def number(text: str) -> float:
        return float(text) if text else math.nan

    return len(a) == len(b) and all(
        x.keys() == y.keys()
        and all(number(x[k]) == pytest.approx(number(y[k]), abs=1e-6, nan_ok=True) for k in x)
        for x, y in zip(a, b, strict=True)
    )


def kill_and_resume(directory: Path, overrides: list[str], kill: list[str], *more: str) -> Path:
    """Run with the kill plug-in (it must die by SIGKILL), then ``resume=`` without it; the run dir."""
    killed = run_cli([*overrides, *kill, f"hydra.run.dir={directory}"], cwd=directory.parent)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert not (directory / "summary.json").exists()
    resumed = run_cli([f"resume={directory}", "~callbacks.kill", *more], cwd=directory.parent)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return directory


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run, never interrupted."""
    run = tmp_path_factory.mktemp("reference") / "run"
    result = run_cli([*TINY, f"hydra.run.dir={run}"], cwd=run.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return run


def test_a_run_killed_mid_epoch_resumes_to_the_summary_and_log_of_the_uninterrupted_run(
    tmp_path: Path, reference: Path
) -> None:
    run = tmp_path / "run"
    killed = run_cli([*TINY, *kill_at(6), f"hydra.run.dir={run}"], cwd=tmp_path)
    assert killed.returncode == -9
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert (checkpoint["global_step"], checkpoint["epoch"]) == (6, 1), "2 of epoch 1's 4 steps done"
    logged_before = csv_rows(run)

    resumed = run_cli([f"resume={run}", "~callbacks.kill"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result, expected = summary(run), summary(reference)
    assert result["resumed_from"] == {
        "step": 6,
        "epoch": 1,
        "checkpoint": str(run / "checkpoints" / "last.ckpt"),
    }
    assert metrics_difference(result, expected) <= 1e-6
    assert result["weights"] == pytest.approx(expected["weights"], abs=1e-6)
    assert result["optimized_metric"]["value"] == pytest.approx(
        expected["optimized_metric"]["value"], abs=1e-6
    )
    assert Path(result["checkpoint"]).name == Path(expected["checkpoint"]).name
    rows = csv_rows(run)
    assert same_rows(rows, csv_rows(reference)), "the log continues, nothing lost or repeated"
    kept = [{k: row[k] for k in before} for row, before in zip(rows, logged_before, strict=False)]
    assert same_rows(kept, logged_before), "the killed run's rows are kept"
    overrides = list(OmegaConf.load(run / ".hydra" / "overrides.yaml"))
    assert overrides[-2:] == ["~callbacks.kill", f'resume="{run}"']


def test_resume_refuses_a_directory_that_is_not_a_run_in_one_line(tmp_path: Path) -> None:
    result = run_cli([f"resume={tmp_path}"], cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"mtl-train: error: resume: {tmp_path} is not a run directory (no .hydra/config.yaml and overrides.yaml)"
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill",
    [kill_at(1), kill_at(STEPS_PER_EPOCH), kill_at(STEPS_PER_EPOCH + 3), kill_at(0, at="test")],
    ids=["step1", "epoch-end", "step7", "during-test"],
)
def test_a_run_killed_anywhere_resumes_to_the_uninterrupted_summary(
    tmp_path: Path, reference: Path, kill: list[str]
) -> None:
    run = kill_and_resume(tmp_path / "run", TINY, kill)
    assert metrics_difference(summary(run), summary(reference)) <= 1e-6
    assert same_rows(csv_rows(run), csv_rows(reference))


VARIANTS = {
    "dwa": (["weighting=dwa"], kill_at(6)),  # epoch-level loss history
    "rlw": (["weighting=rlw"], kill_at(6)),  # random weights from its own generator
    "gradnorm": (["weighting=gradnorm"], kill_at(6)),  # renormalised after every optimizer step
    "famo": (["weighting=famo"], kill_at(6)),
    "pcgrad": (["weighting=pcgrad"], kill_at(6)),  # torch.randperm under a forked, seeded generator
    "sanity-check": (["trainer.num_sanity_val_steps=2"], kill_at(6)),
    "accumulation": (["trainer.accumulate_grad_batches=2"], kill_at(3)),  # 2 optimizer steps per epoch
    "loader-worker": (["data.num_workers=1"], kill_at(6)),
    "ddp": (["trainer=ddp_cpu"], kill_at(3)),  # 2 ranks, 2 steps per epoch: killed in epoch 1
    "early-stopped": (  # stops after epoch 1 of 3; killed while testing
        [
            "trainer.max_epochs=3",
            "callbacks.early_stopping.patience=0",
            "callbacks.early_stopping.min_delta=1000",
        ],
        kill_at(0, at="test"),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_stateful_weightings_and_trainer_settings_resume_exactly(tmp_path: Path, variant: str) -> None:
    extra, kill = VARIANTS[variant]
    overrides = [*TINY, *extra]
    reference = tmp_path / "reference"
    assert run_cli([*overrides, f"hydra.run.dir={reference}"], cwd=tmp_path).returncode == 0
    run = kill_and_resume(tmp_path / "run", overrides, kill)
    assert metrics_difference(summary(run), summary(reference)) <= 1e-6
    assert same_rows(csv_rows(run), csv_rows(reference))


@pytest.mark.slow
def test_a_resumed_run_trains_on_with_a_larger_max_epochs(tmp_path: Path, reference: Path) -> None:
    run = tmp_path / "run"
    assert run_cli([*TINY, f"hydra.run.dir={run}"], cwd=tmp_path).returncode == 0
    longer = run_cli([f"resume={run}", "trainer.max_epochs=3"], cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr[-3000:]
    three = tmp_path / "three"
    assert run_cli([*TINY, "trainer.max_epochs=3", f"hydra.run.dir={three}"], cwd=tmp_path).returncode == 0
    result = summary(run)
    assert result["resumed_from"]["step"] == 2 * STEPS_PER_EPOCH
    assert result["metrics"]["val/loss"] != summary(reference)["metrics"]["val/loss"]
    assert result["metrics"].keys() == summary(three)["metrics"].keys()


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "position"), [("cycle", 1), ("sample", 4)])  # 3 and 6 steps per epoch
def test_a_per_task_run_killed_mid_epoch_resumes_exactly(tmp_path: Path, mode: str, position: int) -> None:
    overrides = [
        "experiment=iris_two_tasks",
        f"data.mode={mode}",
        "trainer.max_epochs=3",
        "encoder.dropout=0.3",
        "checkpoint_every_n_steps=1",
        "trainer.enable_progress_bar=false",
        "~callbacks.rich_progress_bar",
    ]
    reference = tmp_path / "reference"
    assert run_cli([*overrides, f"hydra.run.dir={reference}"], cwd=tmp_path).returncode == 0
    run = tmp_path / "run"
    killed = run_cli([*overrides, *kill_at(4), f"hydra.run.dir={run}"], cwd=tmp_path)
    assert killed.returncode == -9
    loops = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["loops"]
    assert loops["fit_loop"]["state_dict"]["combined_loader"][0]["batches"] == position, "mid-epoch"
    assert run_cli([f"resume={run}", "~callbacks.kill"], cwd=tmp_path).returncode == 0
    assert metrics_difference(summary(run), summary(reference)) <= 1e-6
