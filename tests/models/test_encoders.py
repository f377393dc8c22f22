from __future__ import annotations

import pytest
import torch

from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders import ENCODERS

INPUTS = {"cnn": (1, 11, 11), "mlp": (3, 5)}


@pytest.mark.parametrize("name", ENCODERS.names())
def test_every_encoder_maps_inputs_to_out_dim_features(name: str) -> None:
    encoder = ENCODERS.build({"name": name}, input_shape=INPUTS[name])
    features = encoder(torch.randn(4, *INPUTS[name]))
    assert features.shape == (4, encoder.out_dim)
    last = list(encoder.last_layer.parameters())
    assert last and all(any(p is q for q in encoder.parameters()) for p in last)
    # the last layer is the last one with parameters: its output feeds the features directly
    features.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in last)


def test_mlp_layer_widths() -> None:
    encoder = ENCODERS.build({"name": "mlp", "hidden_dims": [7, 5], "activation": "tanh"}, input_shape=(250,))
    widths = [m.out_features for m in encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [7, 5] and encoder.out_dim == 5


def test_cnn_rejects_flat_inputs_and_unknown_activation() -> None:
    with pytest.raises(
        ConfigError, match=r"'cnn' needs image inputs \(C, H, W\), but the data gives shape \(250,\)"
    ):
        ENCODERS.build({"name": "cnn"}, input_shape=(250,))
    with pytest.raises(
        ConfigError, match="encoder.activation: unknown activation 'rellu'.*did you mean 'relu'"
    ):
        ENCODERS.build({"name": "mlp", "activation": "rellu"}, input_shape=(4,))
