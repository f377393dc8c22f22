"""MMoE (Ma et al., 2018): softmax gates per task, features that are the gated sum of the experts, exactly
what is declared shared, the optional load-balancing loss, one-line errors, and a short fit on MultiDigits
through the real config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from omegaconf import DictConfig
from parameter_dependence import assert_shared_parameters_are_exact

from mtl_lab.batch import InputSpec, example_inputs
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_experiment
from mtl_lab.models.architectures import ARCHITECTURES, MMoEArchitecture
from mtl_lab.models.architectures.gating import cv_squared

INPUTS = {"features": InputSpec((5,))}
ENCODER = {"name": "mlp", "hidden_dims": [6, 4]}
TASKS = ["a", "b", "c"]


def build(inputs: dict[str, InputSpec] = INPUTS, **settings: Any) -> MMoEArchitecture:
    torch.manual_seed(0)
    node = {"name": "mmoe", **settings}
    return ARCHITECTURES.build(node, tasks=TASKS, inputs=inputs, encoder=ENCODER).eval()


def test_gates_are_softmaxes_and_features_the_gated_sum_of_the_experts() -> None:
    architecture = build(num_experts=3)
    inputs = example_inputs(INPUTS, 4)
    experts, gates = architecture.experts_and_gates(inputs)
    assert len(experts) == 3 and all(e.shape == (4, 4) for e in experts)
    for task in TASKS:
        assert gates[task].shape == (4, 3) and bool((gates[task] > 0).all())
        assert torch.allclose(gates[task].sum(dim=1), torch.ones(4))
        assert torch.allclose(
            gates[task], torch.softmax(architecture.gates[task].linear(inputs["features"]), 1)
        )
    out = architecture(inputs)
    for task in TASKS:
        expected = sum(gates[task][:, e : e + 1] * experts[e] for e in range(3))
        assert torch.allclose(out.features[task], expected, atol=1e-6)
    assert len(out.shared) == 3 and all(torch.equal(s, e) for s, e in zip(out.shared, experts, strict=True))
    assert architecture.feature_dim("b") == 4 and not out.aux_losses
    assert not torch.allclose(gates["a"], gates["b"])  # one gate per task


def test_one_expert_gives_every_task_that_experts_output() -> None:
    architecture = build(num_experts=1)
    inputs = example_inputs(INPUTS, 3)
    expert = architecture.experts[0](inputs)
    assert all(torch.allclose(f, expert) for f in architecture(inputs).features.values())


@pytest.mark.parametrize(
    "settings", [{"num_experts": 2}, {"num_experts": 3, "gate_encoder": {"name": "mlp", "hidden_dims": [3]}}]
)
def test_shared_parameters_are_exactly_what_every_task_depends_on(settings: dict[str, Any]) -> None:
    architecture = build(**settings)
    assert_shared_parameters_are_exact(architecture, example_inputs(INPUTS, 3))
    gate_params = {id(p) for p in architecture.gates.parameters()}
    assert not gate_params & {id(p) for p in architecture.shared_parameters()}
    last = [p for e in architecture.experts for p in e.last_layer.parameters()]
    assert [id(p) for p in architecture.last_shared_parameters()] == [id(p) for p in last]


def test_an_image_input_gets_a_gate_encoder_not_a_linear_over_its_pixels() -> None:
    image = {"image": InputSpec((1, 11, 11))}
    torch.manual_seed(0)
    node = {"name": "mmoe", "num_experts": 2}
    encoder = {"name": "cnn", "channels": [4], "out_dim": 8}
    architecture = ARCHITECTURES.build(node, tasks=TASKS, inputs=image, encoder=encoder)
    assert {g.linear.in_features for g in architecture.gates.values()} == {8}
    assert architecture(example_inputs(image, 2)).features["a"].shape == (2, 8)


def test_the_load_balance_loss_is_absent_when_off_and_the_weighted_sum_over_gates_when_on() -> None:
    inputs = example_inputs(INPUTS, 6)
    assert build(num_experts=3)(inputs).aux_losses == {}
    architecture = build(num_experts=3, load_balance_weight=0.5)
    aux = architecture(inputs).aux_losses
    _, gates = architecture.experts_and_gates(inputs)
    expected = 0.5 * sum(cv_squared(g.sum(dim=0)) for g in gates.values())
    assert list(aux) == ["load_balance"] and torch.isfinite(aux["load_balance"])
    assert aux["load_balance"] > 0 and torch.allclose(aux["load_balance"], expected)
    grads = torch.autograd.grad(aux["load_balance"], list(architecture.gates["a"].parameters()))
    assert all(g.abs().sum() > 0 for g in grads)  # it trains the gates


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"num_experts": 0}, r"^architecture.num_experts: needs an integer >= 1, got 0$"),
        (
            {"load_balance_weight": -0.1},
            r"^architecture.load_balance_weight: needs a value >= 0 \(0: off\), got -0.1$",
        ),
        (
            {"gate_encoder": {"name": "mlp", "hidden_dims": [3], "input": "x"}},
            r"^architecture.gate_encoder: encoder.input: unknown input of the data 'x'; choices: features$",
        ),
    ],
)
def test_bad_settings_are_one_line_errors_naming_the_key(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(**settings)


def test_mmoe_trains_on_multidigits_with_upgrad_and_logs_its_load_balance_loss(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config(
        "architecture=mmoe",
        "architecture.num_experts=2",
        "architecture.load_balance_weight=0.01",
        "architecture.gate_encoder={name: cnn, channels: [2], out_dim: 4}",
        "encoder.channels=[4]",
        "encoder.out_dim=8",
        "weighting=upgrad",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.limit_val_batches=1",
    )
    experiment = build_experiment(cfg)
    assert experiment.module.weighting.grad_level == "representation"
    experiment.trainer.fit(experiment.module, datamodule=experiment.datamodule)
    metrics = experiment.trainer.callback_metrics
    assert experiment.trainer.global_step == 2
    assert torch.isfinite(metrics["train/objective"]) and metrics["train/aux_loss/load_balance"] > 0
