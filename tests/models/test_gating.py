"""Gates of the mixture-of-experts architectures: what the first gates read for each kind of input, softmax
gates, the gated sum and the load-balancing loss (Shazeer et al., 2017)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from mtl_lab.batch import InputSpec, example_inputs
from mtl_lab.errors import ConfigError
from mtl_lab.models.architectures.gating import Gate, GateInput, cv_squared, load_balance_loss, mix
from mtl_lab.models.encoders import ENCODERS, CNNEncoder, TabularEncoder

IMAGE = {"image": InputSpec((1, 11, 11))}
TABLE = {"numeric": InputSpec((3,)), "categorical": InputSpec((2,), torch.long, cardinalities=(4, 7))}
CNN = {"name": "cnn", "channels": [4], "out_dim": 8}
TABULAR = {"name": "tabular", "hidden_dims": [6]}


def gate_input(
    inputs: dict[str, InputSpec], encoder: dict[str, Any], gate_encoder: dict[str, Any] | None = None
) -> GateInput:
    return GateInput(inputs, encoder, ENCODERS.build(encoder, inputs=inputs), gate_encoder)


def test_gates_read_a_flat_float_input_itself() -> None:
    inputs = {"features": InputSpec((5,))}
    gates = gate_input(inputs, {"name": "mlp", "hidden_dims": [4]})
    x = example_inputs(inputs, 3)
    assert gates.encoder is None and gates.out_dim == 5 and not list(gates.parameters())
    assert gates(x) is x["features"]
    numeric_only = {"numeric": InputSpec((3,))}
    assert gate_input(numeric_only, TABULAR).out_dim == 3  # a table without categorical columns


@pytest.mark.parametrize(
    ("inputs", "encoder", "kind"), [(IMAGE, CNN, CNNEncoder), (TABLE, TABULAR, TabularEncoder)]
)
def test_an_image_or_a_table_with_categories_gets_a_copy_of_the_encoder(
    inputs: dict[str, InputSpec], encoder: dict[str, Any], kind: type
) -> None:
    torch.manual_seed(0)
    gates = gate_input(inputs, encoder)
    expert = ENCODERS.build(encoder, inputs=inputs)
    assert isinstance(gates.encoder, kind) and gates.out_dim == expert.out_dim
    shapes = [p.shape for p in gates.parameters()]
    assert shapes == [p.shape for p in expert.parameters()]  # same kind and sizes, no Linear over pixels
    assert gates(example_inputs(inputs, 4)).shape == (4, expert.out_dim)


def test_a_gate_encoder_node_is_built_for_the_data() -> None:
    gates = gate_input(IMAGE, {"name": "cnn", "channels": [8, 8], "out_dim": 32}, {**CNN, "out_dim": 16})
    assert isinstance(gates.encoder, CNNEncoder) and gates.out_dim == 16
    assert gates(example_inputs(IMAGE, 2)).shape == (2, 16)


def test_a_gate_encoder_reading_an_input_the_data_lacks_is_one_line_naming_the_key() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^architecture.gate_encoder: encoder.input: unknown input of the data 'pixels'; choices: image$",
    ):
        gate_input(IMAGE, CNN, {**CNN, "input": "pixels"})
    with pytest.raises(ConfigError, match=r"^architecture.gate_encoder: encoder.mlp: unexpected key 'width'"):
        gate_input(IMAGE, CNN, {"name": "mlp", "width": 3})


def test_a_gate_is_a_softmax_and_mix_is_the_gated_sum() -> None:
    gate = Gate(4, 3)
    g = gate(torch.randn(5, 4))
    assert g.shape == (5, 3) and bool((g > 0).all())
    assert torch.allclose(g.sum(dim=1), torch.ones(5))
    experts = torch.randn(5, 3, 2)
    expected = torch.stack([sum(g[b, e] * experts[b, e] for e in range(3)) for b in range(5)])
    assert torch.allclose(mix(g, experts), expected, atol=1e-6)


def test_load_balance_is_the_squared_coefficient_of_variation_of_the_importance() -> None:
    uniform = torch.full((4, 3), 1 / 3)
    assert load_balance_loss([uniform]) == pytest.approx(0.0, abs=1e-6)
    one_hot = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # importance [2, 0]: mean 1, variance 1
    assert load_balance_loss([one_hot]) == pytest.approx(1.0)
    assert load_balance_loss([one_hot, uniform, one_hot]) == pytest.approx(2.0)
    assert load_balance_loss([torch.ones(3, 1)]) == 0.0  # one expert is always balanced
    values = torch.tensor([1.0, 2.0, 6.0])
    assert cv_squared(values) == pytest.approx(values.var(correction=0) / 9.0)
