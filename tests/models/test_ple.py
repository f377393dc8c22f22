"""PLE and CGC (Tang et al., 2020): gates over a task's own and the shared experts, the shared gate below the
last level (and what it connects), CGC as one-level PLE, exactly what is declared shared, the optional
load-balancing loss, one-line errors, tabular inputs, and a short fit on MultiDigits through the real
config."""

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
from mtl_lab.models.architectures import ARCHITECTURES, CGCArchitecture, PLEArchitecture
from mtl_lab.models.architectures.gating import cv_squared
from mtl_lab.models.encoders import TabularEncoder

INPUTS = {"features": InputSpec((5,))}
ENCODER = {"name": "mlp", "hidden_dims": [6]}
TASKS = ["a", "b", "c"]


def build(name: str = "ple", inputs: dict[str, InputSpec] = INPUTS, **settings: Any) -> PLEArchitecture:
    torch.manual_seed(0)
    node = {"name": name, **settings}
    return ARCHITECTURES.build(node, tasks=TASKS, inputs=inputs, encoder=ENCODER).eval()


def test_each_task_gate_mixes_its_own_and_the_shared_experts() -> None:
    architecture = build("cgc", num_shared_experts=2, num_task_experts=3)
    inputs = example_inputs(INPUTS, 4)
    (level,) = architecture.extract(inputs)
    assert level.shared_gate is None and level.shared_output is None
    out = architecture(inputs)
    layer = architecture.levels[0]
    for task in TASKS:
        gate = level.task_gates[task]
        assert gate.shape == (4, 5) and torch.allclose(gate.sum(dim=1), torch.ones(4))
        experts = [e(inputs) for e in layer.task_experts[task]] + list(level.shared_experts)
        expected = sum(gate[:, i : i + 1] * experts[i] for i in range(5))
        assert torch.allclose(out.features[task], expected, atol=1e-6)
    assert len(out.shared) == 2 and architecture.feature_dim("a") == 6 and not out.aux_losses


def test_below_the_last_level_a_shared_gate_mixes_every_expert_and_feeds_the_next_shared_experts() -> None:
    architecture = build(num_levels=2, num_shared_experts=2, num_task_experts=1, expert_hidden_dims=[4])
    inputs = example_inputs(INPUTS, 4)
    first, last = architecture.extract(inputs)
    assert first.shared_gate is not None and first.shared_gate.shape == (4, 3 * 1 + 2)
    assert torch.allclose(first.shared_gate.sum(dim=1), torch.ones(4))
    assert last.shared_gate is None and architecture.feature_dim("b") == 4
    own = list(architecture.levels[0].task_experts["a"].parameters())
    # the shared gate's output depends on task a's first-level experts ...
    assert all(
        g.abs().sum() > 0 for g in torch.autograd.grad(first.shared_output.sum(), own, retain_graph=True)
    )
    # ... so tasks b and c do too (through the next shared experts): not so without a shared gate (LibMTL)
    for task in ("b", "c"):
        grads = torch.autograd.grad(last.task_outputs[task].sum(), own, retain_graph=True, allow_unused=True)
        assert all(g is not None and g.abs().sum() > 0 for g in grads)
    shared_in = architecture.levels[1].shared_experts[0](first.shared_output)
    assert torch.allclose(last.shared_experts[0], shared_in)  # the next shared experts read y_s
    task_in = architecture.levels[1].task_experts["c"][0](first.task_outputs["c"])
    gate = architecture.levels[1].task_gates["c"](first.task_outputs["c"])
    assert torch.allclose(last.task_gates["c"], gate)  # gates above the first read their branch's input
    expected = gate[:, :1] * task_in + sum(gate[:, 1 + j : 2 + j] * last.shared_experts[j] for j in range(2))
    assert torch.allclose(last.task_outputs["c"], expected, atol=1e-6)


def test_cgc_is_ple_with_one_level() -> None:
    settings = {"num_shared_experts": 2, "num_task_experts": 1}
    cgc, ple = build("cgc", **settings), build("ple", num_levels=1, **settings)
    assert isinstance(cgc, CGCArchitecture)
    cgc_shapes = {k: v.shape for k, v in cgc.state_dict().items()}
    assert cgc_shapes == {k: v.shape for k, v in ple.state_dict().items()}
    inputs = example_inputs(INPUTS, 3)
    assert all(torch.equal(cgc(inputs).features[t], ple(inputs).features[t]) for t in TASKS)


@pytest.mark.parametrize(
    "settings",
    [
        {"num_levels": 1, "num_shared_experts": 1, "num_task_experts": 2},
        {"num_levels": 2, "num_shared_experts": 2, "num_task_experts": 1},
        {"num_levels": 3, "num_shared_experts": 1, "num_task_experts": 1},
        {"num_levels": 3, "num_shared_experts": 2, "num_task_experts": 0},
        {"num_levels": 3, "num_shared_experts": 1, "num_task_experts": 1, "gate_encoder": ENCODER},
    ],
)
def test_shared_parameters_are_exactly_what_every_task_depends_on(settings: dict[str, Any]) -> None:
    architecture = build(expert_hidden_dims=[5, 4], **settings)
    assert_shared_parameters_are_exact(architecture, example_inputs(INPUTS, 3))
    last = architecture.levels[-1].shared_experts
    layers = [e.last_layer if settings["num_levels"] == 1 else e[-2] for e in last]
    expected = [id(p) for layer in layers for p in layer.parameters()]
    assert [id(p) for p in architecture.last_shared_parameters()] == expected


def test_a_table_with_categories_gets_a_copy_of_the_tabular_encoder_for_its_gates() -> None:
    table = {"numeric": InputSpec((3,)), "categorical": InputSpec((2,), torch.long, cardinalities=(4, 7))}
    node = {"name": "ple", "num_levels": 2, "expert_hidden_dims": [4]}
    encoder = {"name": "tabular", "hidden_dims": [6]}
    architecture = ARCHITECTURES.build(node, tasks=TASKS, inputs=table, encoder=encoder)
    assert isinstance(architecture.gate_input.encoder, TabularEncoder)
    assert architecture(example_inputs(table, 4)).features["a"].shape == (4, 4)


def test_the_load_balance_loss_is_absent_when_off_and_sums_every_gate_of_every_level_when_on() -> None:
    inputs = example_inputs(INPUTS, 6)
    assert build(num_levels=2)(inputs).aux_losses == {}
    architecture = build(num_levels=2, load_balance_weight=0.1)
    aux = architecture(inputs).aux_losses
    gates = [g for level in architecture.extract(inputs) for g in level.gates()]
    assert len(gates) == 3 + 1 + 3  # task gates of both levels and the first level's shared gate
    expected = 0.1 * sum(cv_squared(g.sum(dim=0)) for g in gates)
    assert list(aux) == ["load_balance"] and torch.isfinite(aux["load_balance"]) and aux["load_balance"] > 0
    assert torch.allclose(aux["load_balance"], expected)


@pytest.mark.parametrize(
    ("name", "settings", "message"),
    [
        ("ple", {"num_levels": 0}, r"^architecture.num_levels: needs an integer >= 1, got 0$"),
        (
            "cgc",
            {"num_shared_experts": 0},
            r"^architecture.num_shared_experts: needs an integer >= 1 \(without shared experts tasks share nothing\), got 0$",
        ),
        ("ple", {"num_task_experts": -1}, r"^architecture.num_task_experts: needs an integer >= 0, got -1$"),
        (
            "ple",
            {"num_levels": 2, "expert_hidden_dims": []},
            r"^architecture.expert_hidden_dims: needs at least one layer width when num_levels > 1, got \[\]$",
        ),
        (
            "ple",
            {"expert_activation": "rellu"},
            r"^architecture.expert_activation: unknown activation 'rellu'; choices: .*; did you mean 'relu'\?$",
        ),
        ("cgc", {"load_balance_weight": -1.0}, r"^architecture.load_balance_weight: needs a value >= 0"),
        (
            "ple",
            {"gate_encoder": {"name": "cnn"}},
            r"^architecture.gate_encoder: encoder.name: 'cnn' needs image inputs \(C, H, W\), but the data gives 'features' of shape \(5,\)$",
        ),
        ("cgc", {"num_levels": 2}, r"^architecture.cgc: unexpected key 'num_levels'"),
    ],
)
def test_bad_settings_are_one_line_errors_naming_the_key(
    name: str, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build(name, **settings)


def test_ple_trains_on_multidigits_with_upgrad_at_the_representation(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config(
        "architecture=ple",
        "architecture.expert_hidden_dims=[6]",
        "architecture.gate_encoder={name: cnn, channels: [2], out_dim: 4}",
        "encoder.channels=[4]",
        "encoder.out_dim=8",
        "weighting=upgrad",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
    )
    experiment = build_experiment(cfg)
    assert experiment.module.weighting.grad_level == "representation"
    experiment.trainer.fit(experiment.module, datamodule=experiment.datamodule)
    assert experiment.trainer.global_step == 2
    assert torch.isfinite(experiment.trainer.callback_metrics["train/objective"])
    assert "train/aux_loss/load_balance" not in experiment.trainer.callback_metrics
