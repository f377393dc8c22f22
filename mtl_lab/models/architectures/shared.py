"""Hard parameter sharing (Caruana, 1997): one encoder for all tasks, one head per task.

Shared: the whole encoder (``params``); its last layer (``last_shared_layer``); its output z
(``representation``), which every head reads through its own identity view, so one backward pass gives
all K representation gradients.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.encoders import ENCODERS, Encoder


@ARCHITECTURES.register("shared")
class SharedArchitecture(Architecture):
    def __init__(
        self, tasks: Sequence[str], inputs: Mapping[str, InputSpec], encoder: Mapping[str, Any]
    ) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.encoder: Encoder = ENCODERS.build(encoder, inputs=inputs)

    def forward(self, inputs: Mapping[str, Tensor]) -> ArchitectureOutput:
        z = self.encoder(inputs)
        return ArchitectureOutput(features={t: z.view_as(z) for t in self.tasks}, shared=(z,))

    def feature_dim(self, task: str) -> int:
        return self.encoder.out_dim

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters())

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.last_layer.parameters())

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "tasks": ["a", "b"],
            "inputs": {"features": InputSpec((5,))},
            "encoder": {"name": "mlp", "hidden_dims": [8, 6]},
        }
