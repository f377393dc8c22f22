"""MTAN (Liu, Johns & Davison, 2019): masks in (0, 1) of each stage's shape, the first stage's mask reads
u_1 alone, f_j counted as shared, one-line errors, and short real runs at two gradient levels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from omegaconf import DictConfig

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_experiment
from mtl_lab.models.architectures import ARCHITECTURES, MTANArchitecture
from mtl_lab.models.architectures.mtan import AttentionMask, pool_to

IMAGE = {"image": InputSpec((1, 11, 11))}
ENCODER_NODES = [
    {"name": "cnn", "channels": [3, 5], "out_dim": 6},
    {"name": "resnet", "widths": [3, 5, 7], "depths": [2, 1, 1], "out_dim": 6},
]
#: Short real runs on MultiDigits: one epoch of 2 training steps, one validation batch, no test.
SHORT_RUN = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "test=false",
]


def build(encoder: dict[str, Any], tasks: tuple[str, ...] = ("a", "b", "c")) -> MTANArchitecture:
    architecture = ARCHITECTURES.build({"name": "mtan"}, tasks=list(tasks), inputs=IMAGE, encoder=encoder)
    assert isinstance(architecture, MTANArchitecture)
    return architecture


@pytest.mark.parametrize("encoder", ENCODER_NODES, ids=lambda n: n["name"])
def test_masks_lie_in_0_1_with_each_stage_output_shape_and_the_shared_tensor_is_the_last_stage_output(
    encoder: dict[str, Any],
) -> None:
    architecture = build(encoder).train()
    masks: list[torch.Tensor] = []
    stage_outputs: list[torch.Tensor] = []
    for module in architecture.modules():
        if isinstance(module, AttentionMask):
            module.register_forward_hook(lambda _m, _i, out: masks.append(out))
    for stage in architecture.encoder.stages:
        stage.rest.register_forward_hook(lambda _m, _i, out: stage_outputs.append(out))
    out = architecture({"image": torch.randn(4, 1, 11, 11)})
    stages = len(architecture.encoder.stages)
    assert len(stage_outputs) == stages and len(masks) == 3 * stages  # one mask per task and stage
    assert len(out.shared) == 1 and out.shared[0] is stage_outputs[-1]
    for j, mask in enumerate(masks):
        assert mask.shape == stage_outputs[j % stages].shape
        assert ((mask > 0) & (mask < 1)).all()
    assert all(f.shape == (4, 6) for f in out.features.values()) and architecture.feature_dim("a") == 6


def test_the_first_mask_reads_u1_alone_and_the_others_u_j_with_the_carried_features() -> None:
    architecture = build(ENCODER_NODES[1])
    in_channels = [mask[0].in_channels for mask in architecture.masks["a"]]
    assert in_channels == [3, 2 * 5, 2 * 7]
    carried = [(block[0].in_channels, block[0].out_channels) for block in architecture.shared_blocks]
    assert carried == [(3, 5), (5, 7)]  # f_j: C_{j-1} -> C_j, 3x3
    assert all(block[0].kernel_size == (3, 3) for block in architecture.shared_blocks)


def test_carried_features_are_max_pooled_2x2_or_adaptively_to_the_next_resolution() -> None:
    x = torch.randn(2, 3, 11, 11)
    assert torch.equal(pool_to(x, (6, 6)), torch.nn.functional.max_pool2d(x, 2, ceil_mode=True))
    assert torch.equal(pool_to(x, (4, 4)), torch.nn.functional.adaptive_max_pool2d(x, (4, 4)))


def test_f_j_is_shared_and_the_masks_are_each_tasks_own() -> None:
    architecture = build(ENCODER_NODES[0])
    shared = {id(p) for p in architecture.shared_parameters()}
    assert {id(p) for p in architecture.shared_blocks.parameters()} <= shared
    assert {id(p) for p in architecture.encoder.parameters()} <= shared
    assert shared.isdisjoint(id(p) for p in architecture.masks.parameters())
    last = [id(p) for p in architecture.last_shared_parameters()]
    assert last == [id(p) for p in architecture.encoder.fc.parameters()]


def test_a_tasks_features_do_not_depend_on_another_tasks_masks() -> None:
    architecture = build(ENCODER_NODES[0]).eval()
    out = architecture({"image": torch.randn(2, 1, 11, 11)})
    grads = torch.autograd.grad(
        out.features["a"].sum(), list(architecture.masks["b"].parameters()), allow_unused=True
    )
    assert all(g is None for g in grads)


def test_one_task_and_an_encoder_without_stages_fail_with_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^tasks: architecture=mtan needs at least 2 tasks, got 1: \[a\]"):
        build(ENCODER_NODES[0], tasks=("a",))
    with pytest.raises(
        ConfigError,
        match=r"^encoder.name: architecture=mtan needs an encoder that exposes its stages, got 'mlp'; "
        r"choices: cnn, .*resnet",
    ):
        build({"name": "mlp", "hidden_dims": [4]})
    with pytest.raises(ConfigError, match=r"^encoder: architecture=mtan needs at least one stage"):
        build({"name": "cnn", "channels": []})


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
    cfg = make_config("architecture=mtan", *SHORT_RUN, *overrides)
    experiment = build_experiment(cfg)
    module = experiment.module
    before = {n: p.detach().clone() for n, p in module.model.named_parameters()}
    experiment.trainer.fit(module, datamodule=experiment.datamodule)
    assert experiment.trainer.global_step == 2
    moved = [n for n, p in module.model.named_parameters() if not torch.equal(p, before[n])]
    assert len(moved) == len(before)  # masks of every task, f_j and the encoder all trained
