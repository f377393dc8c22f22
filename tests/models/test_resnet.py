"""The basic-block ResNet encoder (He et al., 2016): stages, strides, shortcuts, last layer, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders import ENCODERS
from mtl_lab.models.encoders.resnet import BasicBlock, ResNetEncoder

IMAGE = {"image": InputSpec((2, 11, 11))}


def test_stages_halve_the_resolution_after_the_first_and_widen_to_widths() -> None:
    encoder = ENCODERS.build({"name": "resnet", "widths": [4, 6, 8], "depths": [2, 1, 3]}, inputs=IMAGE)
    assert isinstance(encoder, ResNetEncoder) and encoder.stage_channels == (4, 6, 8)
    x = encoder.stem({"image": torch.randn(3, 2, 11, 11)})
    shapes = []
    for stage in encoder.stages:
        x = stage(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(4, 11, 11), (6, 6, 6), (8, 3, 3)]
    assert [1 + len(stage.rest) for stage in encoder.stages] == [2, 1, 3]  # depths blocks per stage
    assert all(isinstance(b, BasicBlock) for stage in encoder.stages for b in [stage.first, *stage.rest])
    assert encoder.last_layer is encoder.fc and encoder.fc.in_features == 8 and encoder.out_dim == 128


def test_a_block_adds_its_input_or_a_projection_when_the_shape_changes() -> None:
    same = BasicBlock(4, 4, stride=1, activation="relu").eval()
    assert isinstance(same.shortcut, nn.Identity)
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(same(x), torch.relu(same.residual(x) + x))
    down = BasicBlock(4, 6, stride=2, activation="relu")
    conv = down.shortcut[0]
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1) and conv.stride == (2, 2)
    assert down(x).shape == (2, 6, 3, 3)


def test_it_reads_the_named_input_and_ends_with_linear_then_activation() -> None:
    inputs = {"image": InputSpec((1, 11, 11)), "other": InputSpec((3,))}
    encoder = ENCODERS.build(
        {"name": "resnet", "widths": [4], "depths": [1], "out_dim": 5, "input": "image"}, inputs=inputs
    )
    assert encoder.input_names == ("image",)
    features = encoder({"image": torch.randn(2, 1, 11, 11)})
    assert features.shape == (2, 5) and (features >= 0).all()  # relu after the Linear


@pytest.mark.parametrize(
    ("node", "inputs", "message"),
    [
        (
            {"widths": [4, 8], "depths": [1]},
            IMAGE,
            r"^encoder.depths: needs one number of blocks >= 1 per entry of encoder.widths, "
            r"got widths=\[4, 8\], depths=\[1\]$",
        ),
        ({"widths": [4], "depths": [0]}, IMAGE, r"^encoder.depths: .*got widths=\[4\], depths=\[0\]$"),
        (
            {},
            {"features": InputSpec((250,))},
            r"^encoder.name: 'resnet' needs image inputs \(C, H, W\), but the data gives 'features' of shape \(250,\)$",
        ),
    ],
)
def test_bad_sizes_and_flat_inputs_fail_with_one_line(node: dict, inputs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ENCODERS.build({"name": "resnet", **node}, inputs=inputs)
