"""Small convolutional encoder for images: [conv3x3 -> BN -> act -> maxpool2] per block, then a Linear.

Staged (:class:`~mtl_lab.models.encoders.base.StagedEncoder`): stage s is block s's conv -> BN -> act,
preceded by block s-1's max-pool (the last block's pool opens ``finish``: pool -> flatten -> Linear ->
act -> dropout), so that a stage's output keeps the resolution its downsampling gave it. The stages are
views over ``features`` (not registered again): the parameter names of earlier runs are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders.base import ENCODERS, Stage, StagedEncoder, choose_input, make_activation


@ENCODERS.register("cnn")
class CNNEncoder(StagedEncoder):
    """Reads ``input`` (None: the data's only input), images of shape (C, H, W)."""

    def __init__(
        self,
        inputs: Mapping[str, InputSpec],
        channels: Sequence[int] = (32, 64),
        out_dim: int = 128,
        activation: str = "relu",
        batch_norm: bool = True,
        dropout: float = 0.0,
        input: str | None = None,
    ) -> None:
        super().__init__()
        name, spec = choose_input(inputs, input, "cnn")
        if len(spec.shape) != 3:
            raise ConfigError(
                "encoder.name: 'cnn' needs image inputs (C, H, W), "
                f"but the data gives {name!r} of shape {tuple(spec.shape)}"
            )
        self.input_names = (name,)
        blocks: list[nn.Module] = []
        stages: list[Stage] = []
        pool: list[nn.Module] = []  # the previous block's max-pool, which opens the next stage
        in_ch = int(spec.shape[0])
        for ch in channels:
            block: list[nn.Module] = [nn.Conv2d(in_ch, int(ch), kernel_size=3, padding=1)]
            if batch_norm:
                block.append(nn.BatchNorm2d(int(ch)))
            block.append(make_activation(activation))
            stages.append(Stage(nn.Sequential(*pool, *block), nn.Identity(), int(ch)))
            pool = [nn.MaxPool2d(2, ceil_mode=True)]
            blocks += [*block, *pool]
            in_ch = int(ch)
        self.features = nn.Sequential(*blocks, nn.Flatten())
        # plain lists: the same modules as in ``features``, not registered under a second name
        self._stages = stages
        self._tail = [*pool, self.features[-1]]
        with torch.no_grad():
            flat = self.features(torch.zeros(1, *spec.shape)).shape[1]
        self.fc = nn.Linear(flat, out_dim)
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
        return inputs[self.input_names[0]]

    def finish(self, x: Tensor) -> Tensor:
        for module in self._tail:
            x = module(x)
        return self.dropout(self.head_act(self.fc(x)))

    def finish_parameters(self) -> list[nn.Parameter]:
        return list(self.fc.parameters())

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"inputs": {"image": InputSpec((1, 11, 11))}, "channels": [4, 4], "out_dim": 8}
