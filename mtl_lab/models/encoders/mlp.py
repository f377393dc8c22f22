"""Multi-layer perceptron encoder: one input, flattened, then Linear + activation (+ dropout) per layer."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders.base import ENCODERS, Encoder, choose_input, mlp_layers


@ENCODERS.register("mlp")
class MLPEncoder(Encoder):
    """Reads ``input`` (None: the data's only input), flattened per sample."""

    def __init__(
        self,
        inputs: Mapping[str, InputSpec],
        hidden_dims: Sequence[int] = (256, 128),
        activation: str = "relu",
        dropout: float = 0.0,
        input: str | None = None,
    ) -> None:
        super().__init__()
        if not hidden_dims:
            raise ConfigError("encoder.hidden_dims: needs at least one layer width, got []")
        name, spec = choose_input(inputs, input, "mlp")
        self.input_names = (name,)
        layers, self.out_dim = mlp_layers(math.prod(spec.shape), hidden_dims, activation, dropout)
        self.net = nn.Sequential(nn.Flatten(), *layers)
        self._last = [m for m in layers if isinstance(m, nn.Linear)][-1]

    @property
    def last_layer(self) -> nn.Module:
        return self._last

    def forward(self, inputs: Mapping[str, Tensor]) -> Tensor:
        return self.net(inputs[self.input_names[0]])

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"inputs": {"features": InputSpec((3, 5))}, "hidden_dims": [8, 6]}
