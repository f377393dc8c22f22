"""Whole runs in-process: summary.json, determinism, task selection, divergence, errors before training."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import FAST, SMALL_CNN, compose_config
from omegaconf import DictConfig

from mtl_lab.errors import ConfigError, DataError, DivergenceError
from mtl_lab.experiment import build_experiment, run_experiment

SUMMARY_FIELDS = {
    "status",
    "tasks",
    "metrics",
    "weights",
    "optimized_metric",
    "wall_time_s",
    "train_samples_per_s",
    "checkpoint",
    "seed",
}


def read(cfg: DictConfig) -> dict:
    return json.loads(Path(cfg.paths.output_dir, "summary.json").read_text())


def test_run_writes_a_complete_summary(make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config("weighting=uncertainty", *SMALL_CNN)
    result = run_experiment(cfg)
    summary = read(cfg)
    assert set(summary) == SUMMARY_FIELDS and summary["status"] == "completed"
    labelled = {"train": 256, "val": 128, "test": 128}  # every sample of every split has every label
    assert summary["tasks"] == {
        "left": {"kind": "classification", "num_outputs": 10, "loss": "cross_entropy", "labelled": labelled},
        "right": {"kind": "classification", "num_outputs": 10, "loss": "cross_entropy", "labelled": labelled},
        "sum": {"kind": "regression", "num_outputs": 1, "loss": "mse", "labelled": labelled},
    }
    metrics = summary["metrics"]
    for task in ("left", "right", "sum"):
        assert {
            f"test/{task}/loss",
            f"val/{task}/loss",
            f"train/{task}/loss",
            f"train/log_var/{task}",
        } <= set(metrics)
    assert {"test/left/accuracy", "test/left/macro_f1", "test/sum/mae", "test/sum/rmse", "test/loss"} <= set(
        metrics
    )
    # weights are the coefficients at the end of training: 0.5 exp(-s) (regression), exp(-s) (classification)
    final = torch.load(Path(cfg.paths.output_dir, "checkpoints", "last.ckpt"), weights_only=True)[
        "state_dict"
    ]
    log_vars = final["weighting.log_vars"]
    assert summary["weights"]["sum"] == pytest.approx(0.5 * torch.exp(-log_vars[2]).item(), rel=1e-6)
    assert summary["weights"]["left"] == pytest.approx(torch.exp(-log_vars[0]).item(), rel=1e-6)
    assert summary["optimized_metric"]["name"] == "val/loss"
    assert summary["optimized_metric"]["value"] == pytest.approx(result.optimized_metric["value"])
    assert summary["optimized_metric"]["value"] <= metrics["val/loss"] + 1e-6  # best epoch, not the last
    assert Path(summary["checkpoint"]).is_file() and Path(summary["checkpoint"]).name != "last.ckpt"
    assert summary["wall_time_s"] > 0 and summary["train_samples_per_s"] > 0 and summary["seed"] == 0
    assert Path(cfg.paths.output_dir, "csv", "metrics.csv").is_file()


def test_same_seed_gives_the_same_summary_metrics(tmp_path: Path) -> None:
    overrides = [*FAST, *SMALL_CNN, "weighting=gradnorm", "trainer.max_epochs=1"]
    first = run_experiment(compose_config(overrides, tmp_path / "a"))
    second = run_experiment(compose_config(overrides, tmp_path / "b"))
    other = run_experiment(compose_config([*overrides, "seed=1"], tmp_path / "c"))
    assert first.metrics == second.metrics and first.weights == second.weights
    assert first.metrics["test/loss"] != other.metrics["test/loss"]


def test_single_task_selection_is_a_baseline_on_the_same_data(make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config("tasks=[left]", *SMALL_CNN, "trainer.max_epochs=1")
    summary = run_experiment(cfg)
    assert list(summary.tasks) == ["left"] and list(summary.weights) == ["left"]
    assert not any("right" in name or "sum" in name for name in summary.metrics)


def test_test_false_skips_testing(make_config: Callable[..., DictConfig]) -> None:
    summary = run_experiment(make_config("test=false", *SMALL_CNN, "trainer.max_epochs=1"))
    assert not any(name.startswith("test/") for name in summary.metrics) and summary.status == "completed"


@pytest.mark.parametrize("precision_weighting", ["gradnorm", "uncertainty"])
def test_bf16_mixed_precision_runs_learnable_strategies(
    precision_weighting: str, make_config: Callable[..., DictConfig]
) -> None:
    cfg = make_config(f"weighting={precision_weighting}", "trainer.precision=bf16-mixed", *SMALL_CNN)
    summary = run_experiment(cfg)
    assert summary.status == "completed"
    assert all(torch.isfinite(torch.tensor(w)) and w > 0 for w in summary.weights.values())
    assert summary.weights != {"left": 1.0, "right": 1.0, "sum": 1.0}  # the strategy learned


def test_divergence_stops_writes_diverged_summary_and_keeps_last_good_checkpoint(
    make_config: Callable[..., DictConfig],
) -> None:
    # 256 samples / 64 per batch = 4 steps per epoch: two good epochs, NaN at step 9 of the third
    cfg = make_config(
        "weighting.name=plugins:NaNAfter",
        "~weighting.weights",
        "+weighting.after=9",
        "trainer.max_epochs=4",
        *SMALL_CNN,
    )
    with pytest.raises(DivergenceError, match="training diverged at step 9: non-finite loss"):
        run_experiment(cfg)
    summary = read(cfg)
    assert summary["status"] == "diverged" and summary["diverged_at_step"] == 9
    assert "non-finite loss" in summary["error"]
    checkpoints = sorted(p.name for p in Path(cfg.paths.output_dir, "checkpoints").glob("*.ckpt"))
    assert "last.ckpt" in checkpoints and summary["checkpoint"] is not None
    kept = torch.load(summary["checkpoint"], weights_only=False)
    assert kept["global_step"] == 8  # written after epoch 2, before the bad step, and not overwritten
    assert all(torch.isfinite(v).all() for v in kept["state_dict"].values() if v.is_floating_point())


@pytest.mark.parametrize(
    ("kind", "raised", "error"),
    [("runtime", RuntimeError, "RuntimeError: boom"), ("interrupt", SystemExit, "interrupted")],
)
def test_failed_or_interrupted_run_writes_failed_summary_and_keeps_checkpoints(
    kind: str, raised: type[BaseException], error: str, make_config: Callable[..., DictConfig]
) -> None:
    cfg = make_config(
        "+callbacks.fail._target_=plugins.RaiseAt",
        "+callbacks.fail.step=5",
        f"+callbacks.fail.error={kind}",
        *SMALL_CNN,
    )
    with pytest.raises(raised):
        run_experiment(cfg)
    summary = read(cfg)
    assert summary["status"] == "failed" and summary["error"] == error
    assert summary["checkpoint"] is not None and Path(summary["checkpoint"]).is_file()


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        (
            ["encoder.name=cnnn"],
            ConfigError,
            r"^encoder.name: unknown encoder 'cnnn'; choices: cnn, mlp, resnet, tabular, transformer; did you mean 'cnn'\?$",
        ),
        (
            ["weighting.name=uncertanty"],
            ConfigError,
            "weighting.name: unknown weighting 'uncertanty'.*did you mean 'uncertainty'",
        ),
        (
            ["tasks=[left,rigth]"],
            ConfigError,
            "^tasks: unknown task .*'rigth'; choices: left, right, sum; did you mean 'right'",
        ),
        (
            ["tasks=[left,right]", "+weighting.weights={sum: 2.0}"],
            ConfigError,
            "weighting.weights: unknown task .*'sum'; choices: left, right$",
        ),
        (
            ["trainer.max_epochs=abc"],
            ConfigError,
            r"^trainer.max_epochs: expected int or None, got 'abc' \(str\)$",
        ),
        (
            ["optimized_metric=val/left/acc"],
            ConfigError,
            "optimized_metric: 'val/left/acc' is not a logged metric.*did you mean 'val/left/accuracy'",
        ),
        (
            [
                "data.name=plugins:PartialLabels",
                "+data.bad_label=7",
                "encoder=mlp",
                "~data.train_size",
                "~data.val_size",
                "~data.test_size",
                "~data.offset",
                "~data.regression_loss",
            ],
            DataError,
            r"task 'a' \(data 'partial', split 'val'\): label 7 outside the task's classes 0..2",
        ),
    ],
)
def test_mistakes_fail_before_training_with_one_line(
    overrides: list[str], error: type[Exception], message: str, make_config: Callable[..., DictConfig]
) -> None:
    cfg = make_config(*overrides)
    with pytest.raises(error, match=message) as info:
        experiment = build_experiment(cfg)
        experiment.datamodule.setup("fit")
    assert "\n" not in str(info.value)
    assert not Path(cfg.paths.output_dir, "checkpoints").exists()


def test_run_that_fails_to_build_writes_a_failed_summary_and_reraises(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config("encoder.name=cnnn", "optimized_metric=val/left/accuracy")
    with pytest.raises(ConfigError, match="encoder.name: unknown encoder 'cnnn'"):
        run_experiment(cfg)
    summary = read(cfg)
    assert summary["status"] == "failed" and summary["tasks"] == {} and summary["metrics"] == {}
    assert (
        summary["error"]
        == "ConfigError: "
        + "encoder.name: unknown encoder 'cnnn'; choices: cnn, mlp, resnet, tabular, transformer; did you mean 'cnn'?"
    )
    assert (
        summary["optimized_metric"] == {"name": "val/left/accuracy", "value": None} and summary["seed"] == 0
    )


def test_a_failed_run_never_replaces_an_earlier_runs_summary_or_preprocessing(
    make_config: Callable[..., DictConfig], tmp_path: Path
) -> None:
    """Runs in one directory (hydra.run.dir=<an earlier run>): a run that fails to build or fails while
    training leaves the earlier summary.json; a different preprocessing.json is refused, not replaced."""
    from mtl_lab.data.table import TableDataModule  # the table's own example file

    example = TableDataModule.example(tmp_path)
    table = [
        "data=table",
        f"data.path={example['path']}",
        "data.features={numeric: [x1, x2], categorical: [colour]}",
        "data.tasks={flag: {kind: binary}, amount: {kind: regression}}",
        "data.split_column=split",
        "encoder=tabular",
    ]
    cfg = make_config(*table, "trainer.max_epochs=1", fast=False)
    run_experiment(cfg)
    summary_file = Path(cfg.paths.output_dir, "summary.json")
    preprocessing_file = Path(cfg.paths.output_dir, "preprocessing.json")
    earlier, preprocessing = summary_file.read_text(), preprocessing_file.read_text()
    assert json.loads(earlier)["status"] == "completed"

    with pytest.raises(ConfigError, match="unknown encoder"):
        run_experiment(make_config(*table, "encoder.name=cnnn", fast=False))
    failing = ["+callbacks.fail._target_=plugins.RaiseAt", "+callbacks.fail.step=0", "trainer.max_epochs=1"]
    with pytest.raises(RuntimeError, match="boom"):
        run_experiment(make_config(*table, *failing, fast=False))
    with pytest.raises(ConfigError, match=r"preprocessing.json: exists with a different preprocessing"):
        run_experiment(make_config(*table, "data.features={numeric: [x1], categorical: []}", fast=False))
    assert summary_file.read_text() == earlier and preprocessing_file.read_text() == preprocessing
