"""What the architecture contract lets an architecture declare beyond its forward: the gradient levels it
gives a meaning to (others are refused before training) and learning-rate multipliers per parameter group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from omegaconf import DictConfig, open_dict
from torch import nn

from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_experiment
from mtl_lab.models.architectures import SharedArchitecture


class RepresentationOnly(SharedArchitecture):
    grad_levels: ClassVar[tuple[str, ...]] = ("representation",)


class FastLastLayer(SharedArchitecture):
    def lr_multipliers(self) -> list[tuple[list[nn.Parameter], float]]:
        return [(list(self.encoder.last_layer.parameters()), 10.0)]


def with_architecture(make_config: Callable[..., DictConfig], cls: type, *overrides: str) -> DictConfig:
    cfg = make_config("encoder.channels=[4]", "encoder.out_dim=8", *overrides)
    with open_dict(cfg):
        cfg.architecture.name = f"{__name__}:{cls.__name__}"
    return cfg


def test_a_grad_level_the_architecture_does_not_give_is_refused_naming_the_ones_that_work(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = with_architecture(
        make_config, RepresentationOnly, "weighting=upgrad", "weighting.grad_level=params"
    )
    with pytest.raises(
        ConfigError, match=r"'params' has no meaning for RepresentationOnly.*: representation$"
    ):
        build_experiment(cfg)
    ok = with_architecture(
        make_config, RepresentationOnly, "weighting=upgrad", "weighting.grad_level=representation"
    )
    assert build_experiment(ok).module.weighting.grad_level == "representation"
    # a loss-based strategy has no gradient level to refuse
    assert build_experiment(with_architecture(make_config, RepresentationOnly, "weighting=dwa"))


def test_lr_multipliers_become_optimizer_groups_at_a_multiple_of_the_learning_rate(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = with_architecture(make_config, FastLastLayer, "optimizer.lr=0.002", "weighting=uncertainty")
    module = build_experiment(cfg).module
    optimizer: Any = module.configure_optimizers()
    fast = {id(p) for p in module.model.architecture.encoder.last_layer.parameters()}
    groups = [(g["lr"], [id(p) for p in g["params"]]) for g in optimizer.param_groups]
    assert [set(ids) for lr, ids in groups if lr == pytest.approx(0.02)] == [fast]
    everything = [id(p) for p in module.parameters() if p.requires_grad]
    assert sorted(i for _, ids in groups for i in ids) == sorted(everything)  # each parameter in one group
