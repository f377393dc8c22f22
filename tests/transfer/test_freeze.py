"""freeze: frozen parameters stay fixed and out of the optimizer, frozen modules run in eval mode, the
path grammar on every kind of architecture, and the one-line errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from conftest import FAST, SMALL_CNN, compose_config
from omegaconf import DictConfig

from mtl_lab.callbacks import collect_summary_fields
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import Experiment, build_datamodule, build_experiment, build_model
from mtl_lab.gradients import GRAD_LEVELS, level_inputs
from mtl_lab.models.model import MultiTaskModel
from mtl_lab.transfer import resolve_freeze_paths

ONE_EPOCH = [*FAST, *SMALL_CNN, "trainer.max_epochs=1", "tasks=[left,right]"]


def config(tmp_path: Path, *overrides: str) -> DictConfig:
    return compose_config([*ONE_EPOCH, *overrides], tmp_path / "run")


def build(tmp_path: Path, *overrides: str) -> Experiment:
    return build_experiment(config(tmp_path, *overrides))


def model(tmp_path: Path, *overrides: str) -> MultiTaskModel:
    cfg = config(tmp_path, *overrides)
    return build_model(cfg, build_datamodule(cfg))


class TrainingProbe(pl.Callback):
    """Records the optimizer's parameters and which modules train, at the first training step."""

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        if not hasattr(self, "params"):
            optimizer = trainer.optimizers[0]
            self.params = {id(p) for group in optimizer.param_groups for p in group["params"]}
            self.training = {name: m.training for name, m in pl_module.named_modules()}


def test_a_frozen_encoder_is_not_optimized_keeps_its_statistics_and_runs_in_eval_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = build(tmp_path, "freeze=[encoder]")
    network = experiment.module.model
    encoder = network.architecture.encoder
    before = {name: value.clone() for name, value in network.state_dict().items()}
    assert "freeze: encoder -> architecture.encoder (" in capsys.readouterr().out
    record = collect_summary_fields(experiment.trainer.callbacks)["freeze"]
    assert record["modules"] == ["architecture.encoder"] and record["parameters"] == []
    assert record["frozen_parameters"] == sum(p.numel() for p in encoder.parameters())
    probe = TrainingProbe()
    experiment.trainer.callbacks.append(probe)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*eval mode.*")  # no "modules in eval mode" warning
        experiment.trainer.fit(experiment.module, datamodule=experiment.datamodule)
    assert not probe.params & {id(p) for p in encoder.parameters()}
    assert probe.params >= {id(p) for p in network.heads.parameters()}
    assert not probe.training["model.architecture.encoder"]
    assert not probe.training["model.architecture.encoder.features.1"]  # BatchNorm
    assert probe.training["model.heads.left"]
    after = network.state_dict()
    encoder_keys = [k for k in before if k.startswith("architecture.encoder.")]
    assert any(k.endswith("running_mean") for k in encoder_keys)
    assert all(torch.equal(after[k], before[k]) for k in encoder_keys)
    assert not torch.equal(after["heads.left.linear.weight"], before["heads.left.linear.weight"])


def test_path_grammar(tmp_path: Path) -> None:
    shared = model(tmp_path)
    targets = resolve_freeze_paths(shared, ["encoder", "heads.left", "heads.right.linear.bias"])
    assert list(targets.modules) == ["architecture.encoder", "heads.left"]
    assert list(targets.parameters) == ["heads.right.linear.bias"]
    assert list(resolve_freeze_paths(shared, ["heads"]).modules) == ["heads"]
    experts = ["architecture.experts.0", "architecture.experts.1"]
    mmoe = model(tmp_path, "architecture=mmoe", "architecture.num_experts=2")
    assert list(resolve_freeze_paths(mmoe, ["encoder"]).modules) == [
        *experts,
        "architecture.gate_input.encoder",
    ]
    assert list(resolve_freeze_paths(mmoe, ["architecture.experts.0"]).modules) == experts[:1]
    columns = list(resolve_freeze_paths(model(tmp_path, "architecture=cross_stitch"), ["encoder"]).modules)
    assert columns == ["architecture.columns.0", "architecture.columns.1"]


def test_a_frozen_parameter_alone(tmp_path: Path) -> None:
    experiment = build(tmp_path, "freeze=heads.left.linear.bias")
    heads = experiment.module.model.heads
    assert not heads.left.linear.bias.requires_grad and heads.left.linear.weight.requires_grad
    assert collect_summary_fields(experiment.trainer.callbacks)["freeze"]["parameters"] == [
        "heads.left.linear.bias"
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["freeze=[heads.lefty]"],
            r"freeze: 'heads.lefty' names no module or parameter of the model; closest: heads.left, ",
        ),
        (
            ["freeze=[architecture.encoder.features.2]"],
            r"freeze: 'architecture.encoder.features.2' has no parameters",
        ),
        (
            ["freeze=[architecture,heads]"],
            r"freeze: \['architecture', 'heads'\] freezes every parameter of the model",
        ),
        (
            ["freeze=[architecture.encoder.fc]", "weighting=gradnorm"],
            r"freeze: weighting=gradnorm needs task gradients at grad_level 'last_shared_layer', where every "
            r"parameter is frozen; use weighting.grad_level=params$",
        ),
        (
            ["freeze=[encoder]", "weighting=mgda"],
            r"freeze: weighting=mgda needs task gradients at grad_level 'representation', where every "
            r"parameter is frozen; freeze fewer shared parameters, or use a loss-based weighting",
        ),
    ],
)
def test_freeze_errors(tmp_path: Path, overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}") as err:
        build(tmp_path, *overrides)
    assert "\n" not in str(err.value)


def test_a_gradient_level_with_everything_frozen_is_a_one_line_error_when_measured(tmp_path: Path) -> None:
    """What a callback measuring task gradients (task_affinity) meets, as weightings are checked at build."""
    network = model(tmp_path)
    network.architecture.encoder.requires_grad_(False)
    output = network({"image": torch.zeros(2, 1, 12, 12)})
    for level in GRAD_LEVELS:
        with pytest.raises(
            ConfigError, match=f"^grad_level '{level}': every parameter it depends on is frozen"
        ):
            level_inputs(network.architecture, output, level)
