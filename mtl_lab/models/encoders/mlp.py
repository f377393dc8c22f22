"""Multi-layer perceptron encoder: flatten, then Linear + activation (+ dropout) per hidden layer."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders.base import ENCODERS, Encoder, make_activation


@ENCODERS.register("mlp")
class MLPEncoder(Encoder):
    def __init__(
        self,
        input_shape: Sequence[int],
        hidden_dims: Sequence[int] = (256, 128),
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not hidden_dims:
            raise ConfigError("encoder.hidden_dims: needs at least one layer width, got []")
        layers: list[nn.Module] = [nn.Flatten()]
        in_dim = math.prod(input_shape)
        for width in hidden_dims:
            layers += [nn.Linear(in_dim, int(width)), make_activation(activation)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_dim = int(width)
        self.net = nn.Sequential(*layers)
        self.out_dim = in_dim
        self._last = [m for m in layers if isinstance(m, nn.Linear)][-1]

    @property
    def last_layer(self) -> nn.Module:
        return self._last

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
