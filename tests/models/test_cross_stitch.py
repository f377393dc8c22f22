"""Cross-stitch networks (Misra et al., 2016): convex per-channel init, identity alpha = separate columns,
the alpha learning-rate group, what is shared, one-line errors, and short real runs at two levels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from omegaconf import DictConfig

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_experiment
from mtl_lab.models.architectures import ARCHITECTURES, CrossStitchArchitecture

IMAGE = {"image": InputSpec((1, 11, 11))}
CNN = {"name": "cnn", "channels": [3, 5], "out_dim": 6}
#: Short real runs on MultiDigits: one epoch of 2 training steps, one validation batch, no test.
SHORT_RUN = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "test=false",
]


def build(tasks: list[str], encoder: dict[str, Any] = CNN, **keys: float) -> CrossStitchArchitecture:
    architecture = ARCHITECTURES.build(
        {"name": "cross_stitch", **keys}, tasks=tasks, inputs=IMAGE, encoder=encoder
    )
    assert isinstance(architecture, CrossStitchArchitecture)
    return architecture


@pytest.mark.parametrize("tasks", [["a", "b"], ["a", "b", "c"]])
def test_alpha_starts_convex_per_channel_with_0_9_on_the_own_column(tasks: list[str]) -> None:
    architecture = build(tasks)
    k = len(tasks)
    for unit, channels in zip(architecture.units, [3, 5], strict=True):
        alpha = unit.alpha.detach()
        assert alpha.shape == (k, k, channels)
        assert torch.allclose(alpha.sum(dim=1), torch.ones(k, channels))
        assert torch.allclose(torch.diagonal(alpha).T, torch.full((k, channels), 0.9))
        off = alpha[~torch.eye(k, dtype=torch.bool)]
        assert torch.allclose(off, torch.full_like(off, 0.1 / (k - 1)))


def test_a_unit_mixes_the_columns_channel_by_channel() -> None:
    unit = build(["a", "b"]).units[0]
    xs = [torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)]
    with torch.no_grad():
        unit.alpha.copy_(torch.rand(2, 2, 3))
    mixed = unit(xs)
    alpha = unit.alpha.detach()
    for t in range(2):
        expected = sum(alpha[t, u][None, :, None, None] * xs[u] for u in range(2))
        assert torch.allclose(mixed[t], expected)


@pytest.mark.parametrize("encoder", [CNN, {"name": "resnet", "widths": [3, 4], "depths": [2, 1]}])
def test_with_identity_alpha_each_task_gets_its_own_column(encoder: dict[str, Any]) -> None:
    architecture = build(["a", "b", "c"], encoder, self_weight=1.0).eval()
    x = torch.randn(4, 1, 11, 11)
    out = architecture({"image": x})
    for task, column in zip(["a", "b", "c"], architecture.columns, strict=True):
        assert torch.allclose(out.features[task], column({"image": x}), atol=1e-6)
    assert len(out.shared) == 3  # the K column outputs entering the last unit


def test_identical_columns_at_the_convex_init_compute_the_one_column() -> None:
    architecture = build(["a", "b", "c"]).eval()
    for column in architecture.columns[1:]:
        column.load_state_dict(architecture.columns[0].state_dict())
    x = torch.randn(4, 1, 11, 11)
    out = architecture({"image": x})
    for task in ("a", "b", "c"):  # rows of alpha sum to 1: a mix of equal maps is that map
        assert torch.allclose(out.features[task], architecture.columns[0]({"image": x}), atol=1e-6)


def test_shared_is_everything_but_each_columns_finish_and_the_last_alpha_is_the_last_shared_layer() -> None:
    architecture = build(["a", "b"])
    shared = {id(p) for p in architecture.shared_parameters()}
    finish = {id(p) for column in architecture.columns for p in column.fc.parameters()}
    everything = {id(p) for p in architecture.parameters()}
    assert shared == everything - finish
    assert architecture.last_shared_parameters() == [architecture.units[-1].alpha]


def test_alpha_trains_at_lr_multiplier_times_the_optimizer_lr(make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config(
        "architecture=cross_stitch",
        "architecture.lr_multiplier=50",
        "encoder.channels=[4,4]",
        "encoder.out_dim=8",
        "optimizer.lr=0.002",
    )
    module = build_experiment(cfg).module
    optimizer: Any = module.configure_optimizers()
    alphas = {id(unit.alpha) for unit in module.model.architecture.units}
    groups = [(g["lr"], {id(p) for p in g["params"]}) for g in optimizer.param_groups]
    assert [ids for lr, ids in groups if lr == pytest.approx(0.1)] == [alphas]
    assert all(alphas.isdisjoint(ids) for lr, ids in groups if lr != pytest.approx(0.1))


@pytest.mark.parametrize(
    ("tasks", "encoder", "keys", "message"),
    [
        (["a"], CNN, {}, r"^tasks: architecture=cross_stitch needs at least 2 tasks, got 1: \[a\]"),
        (
            ["a", "b"],
            {"name": "mlp", "hidden_dims": [4]},
            {},
            r"^encoder.name: architecture=cross_stitch needs an encoder that exposes its stages, got 'mlp'; "
            r"choices: cnn, .*resnet",
        ),
        (["a", "b"], CNN, {"self_weight": 1.5}, r"^architecture.self_weight: must be in \[0, 1\].*got 1.5$"),
        (["a", "b"], CNN, {"lr_multiplier": 0.0}, r"^architecture.lr_multiplier: must be > 0, got 0.0$"),
    ],
)
def test_mistakes_fail_with_one_line(
    tasks: list[str], encoder: dict[str, Any], keys: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build(tasks, encoder, **keys)


@pytest.mark.parametrize(
    "overrides",
    [
        ["encoder.channels=[4,4]", "encoder.out_dim=8", "weighting=upgrad"],
        ["encoder.channels=[4,4]", "encoder.out_dim=8", "weighting=gradnorm"],
        [
            "encoder=resnet",
            "encoder.widths=[4,4]",
            "encoder.depths=[1,1]",
            "encoder.out_dim=8",
            "weighting=upgrad",
        ],
    ],
    ids=["upgrad-representation", "gradnorm-last_shared_layer", "resnet"],
)
def test_a_short_run_trains_every_parameter(
    overrides: list[str], make_config: Callable[..., DictConfig]
) -> None:
    experiment = build_experiment(make_config("architecture=cross_stitch", *SHORT_RUN, *overrides))
    module = experiment.module
    before = {n: p.detach().clone() for n, p in module.model.named_parameters()}
    experiment.trainer.fit(module, datamodule=experiment.datamodule)
    assert experiment.trainer.global_step == 2
    moved = [n for n, p in module.model.named_parameters() if not torch.equal(p, before[n])]
    assert len(moved) == len(before)  # every column, every alpha and every head trained
