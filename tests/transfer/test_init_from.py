"""init_from: what a new model takes from a run's checkpoint (a task added, one dropped, another size),
the fresh optimizer and weighting, checkpoint files of the old layout, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from conftest import FAST, SMALL_CNN, compose_config

from mtl_lab.callbacks import collect_summary_fields
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import Experiment, build_experiment, run_experiment
from mtl_lab.transfer import load_source

ONE_EPOCH = [*FAST, *SMALL_CNN, "trainer.max_epochs=1"]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-task run (left, right) with uncertainty weighting, one epoch."""
    run_dir = tmp_path_factory.mktemp("source")
    run_experiment(compose_config([*ONE_EPOCH, "tasks=[left,right]", "weighting=uncertainty"], run_dir))
    return run_dir


def build(run_dir: Path, *overrides: str) -> Experiment:
    return build_experiment(compose_config([*ONE_EPOCH, *overrides], run_dir))


def init_from_field(experiment: Experiment) -> dict[str, Any]:
    return collect_summary_fields(experiment.trainer.callbacks)["init_from"]


class OptimizerProbe(pl.Callback):
    """Records the optimizer's state size and its parameters when training starts."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        optimizer = trainer.optimizers[0]
        self.state_size = len(optimizer.state)
        self.params = {id(p) for group in optimizer.param_groups for p in group["params"]}


def test_adding_a_task_loads_encoder_and_old_heads_and_starts_the_rest_fresh(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = build(tmp_path, f"init_from={source}", "tasks=[left,right,sum]", "weighting=uncertainty")
    record = init_from_field(experiment)
    best = json.loads((source / "summary.json").read_text())["checkpoint"]
    assert record["checkpoint"] == str(Path(best).resolve()) and record["run_dir"] == str(source.resolve())
    assert record["loaded"] == ["architecture.encoder", "heads.left", "heads.right"]
    assert record["new"] == ["heads.sum"]
    assert (record["dropped"], record["shape_mismatch"]) == ([], {})
    assert record["tensors"] == {"loaded": 20, "new": 2, "dropped": 0, "shape_mismatch": 0}
    saved = load_source(str(source)).state
    state = experiment.module.model.state_dict()
    assert all(torch.equal(state[name], saved[name]) for name in saved)  # BatchNorm statistics too
    # the weighting starts fresh: the source's trained log-variances are not read
    trained = torch.load(best, weights_only=True)["state_dict"]["weighting.log_vars"]
    assert trained.abs().sum() > 0
    assert torch.equal(experiment.module.weighting.log_vars, torch.zeros(3))
    printed = capsys.readouterr().out
    assert f"init_from: {Path(best).resolve()}" in printed and "  new (2): heads.sum" in printed
    probe = OptimizerProbe()
    experiment.trainer.callbacks.append(probe)
    experiment.trainer.fit(experiment.module, datamodule=experiment.datamodule)
    assert probe.state_size == 0
    assert probe.params >= {id(p) for p in experiment.module.model.parameters()}


def test_single_task_from_a_multi_task_run_and_back(source: Path, tmp_path: Path) -> None:
    single = tmp_path / "single"
    run_experiment(compose_config([*ONE_EPOCH, f"init_from={source}", "tasks=[left]"], single))
    record = json.loads((single / "summary.json").read_text())["init_from"]
    assert (record["loaded"], record["new"]) == (["architecture.encoder", "heads.left"], [])
    assert record["dropped"] == ["heads.right"]
    back = init_from_field(build(tmp_path / "multi", f"init_from={single}", "tasks=[left,right]"))
    assert (back["loaded"], back["new"]) == (["architecture.encoder", "heads.left"], ["heads.right"])
    assert back["dropped"] == []


def test_another_feature_size_loads_what_still_fits(source: Path, tmp_path: Path) -> None:
    experiment = build(tmp_path, f"init_from={source}", "tasks=[left,right]", "encoder.out_dim=32")
    record = init_from_field(experiment)
    assert record["loaded"] == [
        "architecture.encoder.features",
        "heads.left.linear.bias",
        "heads.right.linear.bias",
    ]
    assert (record["new"], record["dropped"]) == ([], [])
    assert record["shape_mismatch"] == {
        "architecture.encoder.fc.weight": {"checkpoint": [16, 72], "model": [32, 72]},
        "architecture.encoder.fc.bias": {"checkpoint": [16], "model": [32]},
        "heads.left.linear.weight": {"checkpoint": [10, 16], "model": [10, 32]},
        "heads.right.linear.weight": {"checkpoint": [10, 16], "model": [10, 32]},
    }


def test_checkpoint_file_with_the_old_key_layout(source: Path, tmp_path: Path) -> None:
    checkpoint = torch.load(load_source(str(source)).checkpoint, weights_only=True)
    legacy = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
    path = tmp_path / "legacy.ckpt"
    torch.save({"state_dict": legacy}, path)
    record = init_from_field(build(tmp_path, f"init_from={path}", "tasks=[left,right]"))
    assert record["run_dir"] is None and record["checkpoint"] == str(path.resolve())
    assert record["loaded"] == ["architecture.encoder", "heads.left", "heads.right"]


def test_a_checkpoint_whose_architecture_does_not_fit_is_refused(source: Path, tmp_path: Path) -> None:
    message = (
        r"^init_from: .*\.ckpt: no architecture parameter fits the new model; first mismatch: "
        r"architecture.encoder.features.0.weight: checkpoint \[8, 1, 3, 3\], new model \[4, 1, 3, 3\]$"
    )
    with pytest.raises(ConfigError, match=message):
        build(
            tmp_path,
            f"init_from={source}",
            "tasks=[left,right]",
            "encoder.channels=[4,4]",
            "encoder.out_dim=32",
        )
    with pytest.raises(ConfigError, match=r"no architecture parameter name in common with the new model "):
        build(tmp_path, f"init_from={source}", "tasks=[left,right]", "architecture=mmoe")


def test_run_directories_without_one_best_checkpoint(tmp_path: Path) -> None:
    """Only last.ckpt: that one (as summary.json's checkpoint); several best ones: refused."""
    (tmp_path / "last_only" / "checkpoints").mkdir(parents=True)
    last = tmp_path / "last_only" / "checkpoints" / "last.ckpt"
    torch.save({"state_dict": {"model.architecture.scale": torch.ones(1)}}, last)
    assert load_source(str(tmp_path / "last_only")).checkpoint == last.resolve()
    (tmp_path / "several" / "checkpoints").mkdir(parents=True)
    for name in ("epoch0.ckpt", "epoch1.ckpt"):
        (tmp_path / "several" / "checkpoints" / name).write_bytes(b"")
    with pytest.raises(
        ConfigError, match=r"^init_from: .*several: no single best checkpoint among epoch0.ckpt, "
    ):
        load_source(str(tmp_path / "several"))


def test_sources_that_are_not_runs_or_checkpoints(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    torch.save({"state_dict": {"weighting.weights": torch.ones(2)}}, tmp_path / "other.ckpt")
    cases = {
        "missing": r"no such run directory or checkpoint file '.*missing'",
        "empty": r"empty is neither a checkpoint file nor a run directory with checkpoints",
        "notes.txt": r"notes.txt: refused by torch.load\(weights_only=True\): ",
        "other.ckpt": r"other.ckpt: no model tensors \(model\.\*\); not an mtl_lab checkpoint",
    }
    for name, message in cases.items():
        with pytest.raises(ConfigError, match=f"^init_from: .*{message}") as err:
            load_source(str(tmp_path / name))
        assert "\n" not in str(err.value)
