"""Basic-block ResNet for images (He et al., CVPR 2016), in torch alone.

    stem:     conv3x3 -> BN -> act                                      widths[0] maps, full resolution
    stage s:  depths[s] basic blocks of widths[s] maps; the first has stride 2 for s > 1
    block:    act(BN(conv3x3(act(BN(conv3x3(x))))) + shortcut(x)), shortcut = BN(conv1x1) when the
              shape changes (He et al.'s projection shortcut), else the identity
    finish:   global average pool -> Linear(out_dim) -> act (-> dropout); the Linear is ``last_layer``

Staged (:class:`~mtl_lab.models.encoders.base.StagedEncoder`): a stage's ``first`` is its first block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders.base import ENCODERS, Stage, StagedEncoder, choose_input, make_activation


def conv_bn(in_ch: int, out_ch: int, kernel_size: int, stride: int) -> nn.Sequential:
    """conv (no bias: BN follows) -> BN, "same" padding."""
    conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding=kernel_size // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_ch))


class BasicBlock(nn.Module):
    """act(BN(conv3x3(act(BN(conv3x3(x))))) + shortcut(x)), ``stride`` in the first conv."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, activation: str) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            conv_bn(in_ch, out_ch, 3, stride), make_activation(activation), conv_bn(out_ch, out_ch, 3, 1)
        )
        same_shape = stride == 1 and in_ch == out_ch
        self.shortcut = nn.Identity() if same_shape else conv_bn(in_ch, out_ch, 1, stride)
        self.act = make_activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.residual(x) + self.shortcut(x))


@ENCODERS.register("resnet")
class ResNetEncoder(StagedEncoder):
    """Reads ``input`` (None: the data's only input), images of shape (C, H, W)."""

    def __init__(
        self,
        inputs: Mapping[str, InputSpec],
        widths: Sequence[int] = (16, 32, 64),
        depths: Sequence[int] = (1, 1, 1),
        out_dim: int = 128,
        activation: str = "relu",
        dropout: float = 0.0,
        input: str | None = None,
    ) -> None:
        super().__init__()
        name, spec = choose_input(inputs, input, "resnet")
        if len(spec.shape) != 3:
            raise ConfigError(
                "encoder.name: 'resnet' needs image inputs (C, H, W), "
                f"but the data gives {name!r} of shape {tuple(spec.shape)}"
            )
        if not widths or len(widths) != len(depths) or min(depths) < 1:
            raise ConfigError(
                "encoder.depths: needs one number of blocks >= 1 per entry of encoder.widths, "
                f"got widths={list(widths)}, depths={list(depths)}"
            )
        self.input_names = (name,)
        self.stem_layers = nn.Sequential(
            conv_bn(int(spec.shape[0]), int(widths[0]), 3, 1), make_activation(activation)
        )
        stages: list[Stage] = []
        in_ch = int(widths[0])
        for s, (width, depth) in enumerate(zip(widths, depths, strict=True)):
            first = BasicBlock(in_ch, int(width), 1 if s == 0 else 2, activation)
            rest = [BasicBlock(int(width), int(width), 1, activation) for _ in range(int(depth) - 1)]
            stages.append(Stage(first, nn.Sequential(*rest), int(width)))
            in_ch = int(width)
        self.stage_modules = nn.ModuleList(stages)
        self._stages = stages  # the same modules, typed
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(in_ch, out_dim)
        self.head_act = make_activation(activation)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.out_dim = out_dim

    @property
    def last_layer(self) -> nn.Module:
        return self.fc

    @property
    def stages(self) -> Sequence[Stage]:
        return self._stages

    def stem(self, inputs: Mapping[str, Tensor]) -> Tensor:
        return self.stem_layers(inputs[self.input_names[0]])

    def finish(self, x: Tensor) -> Tensor:
        return self.dropout(self.head_act(self.fc(self.pool(x))))

    def finish_parameters(self) -> list[nn.Parameter]:
        return list(self.fc.parameters())

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "inputs": {"image": InputSpec((1, 7, 7))},
            "widths": [3, 4],
            "depths": [2, 1],
            "out_dim": 5,
        }
