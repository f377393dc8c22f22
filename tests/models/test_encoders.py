"""Contract of every registered encoder, built from the example it declares."""

from __future__ import annotations

import pytest
import torch

from mtl_lab.batch import InputSpec, example_inputs
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders import ENCODERS


@pytest.mark.parametrize("name", ENCODERS.names())
def test_every_encoder_maps_its_declared_inputs_to_out_dim_features(name: str) -> None:
    example = ENCODERS.resolve(name).example()
    encoder = ENCODERS.build(
        {"name": name, **{k: v for k, v in example.items() if k != "inputs"}}, inputs=example["inputs"]
    )
    assert encoder.input_names and set(encoder.input_names) <= set(example["inputs"])
    inputs = example_inputs(example["inputs"], batch_size=4)
    features = encoder({n: inputs[n] for n in encoder.input_names})  # reads only what it declares
    assert features.shape == (4, encoder.out_dim) and features.dtype == torch.float32
    last = list(encoder.last_layer.parameters())
    assert last and all(any(p is q for q in encoder.parameters()) for p in last)
    # the last layer is the last one with parameters: its output feeds the features directly
    features.sum().backward()
    assert all(p.grad is not None for p in last)
    # (a single tensor may get an exactly zero gradient: an attention key bias shifts every score of a
    # softmax equally, so GradNorm measures the layer's gradient as a whole)
    assert sum(float(p.grad.abs().sum()) for p in last) > 0


def test_mlp_layer_widths() -> None:
    encoder = ENCODERS.build(
        {"name": "mlp", "hidden_dims": [7, 5], "activation": "tanh"}, inputs={"x": InputSpec((250,))}
    )
    widths = [m.out_features for m in encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [7, 5] and encoder.out_dim == 5 and encoder.input_names == ("x",)


def test_encoder_input_is_the_only_one_or_named() -> None:
    inputs = {"image": InputSpec((1, 11, 11)), "features": InputSpec((3,))}
    with pytest.raises(
        ConfigError, match=r"^encoder.input: the data gives several inputs \(image, features\); name"
    ):
        ENCODERS.build({"name": "cnn"}, inputs=inputs)
    assert ENCODERS.build({"name": "cnn", "input": "image"}, inputs=inputs).input_names == ("image",)
    with pytest.raises(
        ConfigError,
        match=r"^encoder.input: unknown input of the data 'imag'; choices: features, image; did you mean 'image'\?$",
    ):
        ENCODERS.build({"name": "cnn", "input": "imag"}, inputs=inputs)


def test_cnn_rejects_flat_inputs_and_unknown_activation() -> None:
    with pytest.raises(
        ConfigError,
        match=r"'cnn' needs image inputs \(C, H, W\), but the data gives 'features' of shape \(250,\)",
    ):
        ENCODERS.build({"name": "cnn"}, inputs={"features": InputSpec((250,))})
    with pytest.raises(
        ConfigError, match="encoder.activation: unknown activation 'rellu'.*did you mean 'relu'"
    ):
        ENCODERS.build({"name": "mlp", "activation": "rellu"}, inputs={"x": InputSpec((4,))})


def test_tabular_encoder_embeds_each_categorical_column_and_appends_the_numeric_ones() -> None:
    inputs = {
        "numeric": InputSpec((2,)),
        "categorical": InputSpec((3,), torch.long, cardinalities=(3, 10, 1000)),
    }
    encoder = ENCODERS.build({"name": "tabular", "hidden_dims": [4]}, inputs=inputs)
    assert [e.num_embeddings for e in encoder.embeddings] == [3, 10, 1000]
    assert [e.embedding_dim for e in encoder.embeddings] == [3, 6, 16]  # min(16, round(1.6 n^0.56))
    first = next(m for m in encoder.mlp if isinstance(m, torch.nn.Linear))
    assert first.in_features == 3 + 6 + 16 + 2
    only_numeric = ENCODERS.build(
        {"name": "tabular", "hidden_dims": [4]}, inputs={"numeric": InputSpec((2,))}
    )
    assert only_numeric.input_names == ("numeric",) and len(only_numeric.embeddings) == 0
    with pytest.raises(ConfigError, match="'tabular' reads the inputs 'numeric' and/or 'categorical'"):
        ENCODERS.build({"name": "tabular"}, inputs={"image": InputSpec((1, 4, 4))})
