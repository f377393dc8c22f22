"""trainer=fsdp: the strategy's wrap classes and the refusal of parameter-level statistics under it.

PyTorch's FSDP needs an accelerator device, so no FSDP run happens on a CPU-only machine: these tests
check what is decided before training (make gpu-check runs it on GPUs)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from omegaconf import DictConfig
from pytorch_lightning.strategies import DDPStrategy
from transformers.models.bert.modeling_bert import BertLayer

from mtl_lab.ddp import HydraJobDDPStrategy, HydraJobFSDPStrategy, check_sharded_grad_level
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_experiment

BERT_LAYER = "transformers.models.bert.modeling_bert.BertLayer"


def test_wrap_modules_become_the_auto_wrap_policy_and_other_keys_reach_fsdp() -> None:
    strategy = HydraJobFSDPStrategy(wrap_modules=[BERT_LAYER], use_orig_params=True)
    assert strategy.kwargs["use_orig_params"] is True
    assert strategy.kwargs["auto_wrap_policy"]._module_classes == {BertLayer}


@pytest.mark.parametrize("path", ["transformers.models.bert.modeling_bert.NoSuchLayer", "no_such_pkg.Layer"])
def test_a_wrap_class_that_does_not_import_is_one_line(path: str) -> None:
    with pytest.raises(ConfigError, match=rf"^trainer.strategy.wrap_modules: cannot import '{path}'"):
        HydraJobFSDPStrategy(wrap_modules=[path])


@pytest.mark.parametrize("level", ["params", "last_shared_layer"])
def test_parameter_level_statistics_are_refused_under_fsdp_only(level: str) -> None:
    fsdp = HydraJobFSDPStrategy()
    with pytest.raises(
        ConfigError, match=rf"^weighting.grad_level: '{level}' .* trainer=fsdp .*weighting=gradnorm"
    ):
        check_sharded_grad_level(fsdp, level, needs_gradients=True, key="gradnorm")
    check_sharded_grad_level(fsdp, "representation", needs_gradients=True, key="upgrad")
    check_sharded_grad_level(fsdp, level, needs_gradients=False, key="fixed")
    ddp: DDPStrategy = HydraJobDDPStrategy()
    check_sharded_grad_level(ddp, level, needs_gradients=True, key="gradnorm")


def test_mtl_train_refuses_gradnorm_under_trainer_fsdp_before_training(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config("trainer=fsdp", "trainer.accelerator=cpu", "trainer.devices=1", "weighting=gradnorm")
    with pytest.raises(ConfigError, match=r"^weighting.grad_level: 'last_shared_layer' .* trainer=fsdp"):
        build_experiment(cfg)
