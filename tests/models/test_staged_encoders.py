"""The staged-encoder contract (stem -> stages -> finish), on every registered staged encoder, and the
cnn's staging: the same network as before (same output, same state-dict keys: old checkpoints load)."""

from __future__ import annotations

import pytest
import torch

from mtl_lab.batch import InputSpec, example_inputs
from mtl_lab.models.encoders import ENCODERS
from mtl_lab.models.encoders.base import StagedEncoder, staged_encoder_names

IMAGE = {"image": InputSpec((1, 11, 11))}

#: The cnn's state-dict keys before it became staged (channels [32, 64], batch norm): unchanged.
CNN_KEYS = [
    "features.0.weight",
    "features.0.bias",
    "features.1.weight",
    "features.1.bias",
    "features.1.running_mean",
    "features.1.running_var",
    "features.1.num_batches_tracked",
    "features.4.weight",
    "features.4.bias",
    "features.5.weight",
    "features.5.bias",
    "features.5.running_mean",
    "features.5.running_var",
    "features.5.num_batches_tracked",
    "fc.weight",
    "fc.bias",
]
#: ... and without batch norm, three blocks.
CNN_KEYS_NO_BN = [
    "features.0.weight",
    "features.0.bias",
    "features.3.weight",
    "features.3.bias",
    "features.6.weight",
    "features.6.bias",
    "fc.weight",
    "fc.bias",
]


def build(name: str) -> StagedEncoder:
    example = ENCODERS.resolve(name).example()
    node = {"name": name, **{k: v for k, v in example.items() if k != "inputs"}}
    encoder = ENCODERS.build(node, inputs=example["inputs"])
    assert isinstance(encoder, StagedEncoder)
    return encoder.eval()


def test_the_staged_encoders_are_the_stagedencoder_subclasses() -> None:
    names = staged_encoder_names()
    assert {"cnn", "resnet"} <= set(names) and "mlp" not in names and "tabular" not in names


@pytest.mark.parametrize("name", staged_encoder_names())
def test_forward_is_stem_then_stages_then_finish_and_first_keeps_the_stage_resolution(name: str) -> None:
    encoder = build(name)
    inputs = example_inputs(ENCODERS.resolve(name).example()["inputs"], 3)
    x = encoder.stem(inputs)
    for stage, channels in zip(encoder.stages, encoder.stage_channels, strict=True):
        u = stage.first(x)
        x = stage(x)
        assert u.shape == x.shape and x.shape[:2] == (3, channels)  # MTAN multiplies u's mask with p
    assert torch.equal(encoder.finish(x), encoder(inputs))
    finish = {id(p) for p in encoder.finish_parameters()}
    assert finish and finish.isdisjoint(id(p) for s in encoder.stages for p in s.parameters())


@pytest.mark.parametrize(
    ("node", "keys"),
    [
        ({"name": "cnn"}, CNN_KEYS),
        ({"name": "cnn", "channels": [4, 4, 4], "batch_norm": False, "dropout": 0.1}, CNN_KEYS_NO_BN),
    ],
)
def test_cnn_state_dict_keys_are_unchanged_and_it_computes_the_same_network(
    node: dict, keys: list[str]
) -> None:
    encoder = ENCODERS.build(node, inputs=IMAGE).eval()
    assert list(encoder.state_dict()) == keys
    x = torch.randn(2, 1, 11, 11)
    before = encoder.dropout(encoder.head_act(encoder.fc(encoder.features(x))))  # the pre-stage forward
    assert torch.equal(encoder({"image": x}), before)
    # its stages reuse the modules of ``features``; the 2x2 pool of block s opens stage s + 1
    staged = {id(p) for stage in encoder.stages for p in stage.parameters()}
    assert staged == {id(p) for p in encoder.features.parameters()}
    h, sizes = x, []
    for stage in encoder.stages:
        h = stage(h)
        sizes.append(h.shape[-1])
    assert sizes == [11, 6, 3][: len(encoder.stages)]
