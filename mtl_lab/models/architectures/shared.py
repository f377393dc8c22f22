"""Hard parameter sharing (Caruana, 1997): one encoder for all tasks, one head per task."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, Features
from mtl_lab.models.encoders import ENCODERS, Encoder


@ARCHITECTURES.register("shared")
class SharedArchitecture(Architecture):
    def __init__(self, tasks: Sequence[str], input_shape: Sequence[int], encoder: Mapping[str, Any]) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.encoder: Encoder = ENCODERS.build(encoder, input_shape=tuple(input_shape))

    def forward(self, x: Tensor) -> Features:
        z = self.encoder(x)
        # one view per head: the representation-level Gramian then takes one backward pass, not K
        return Features(per_task={t: z.view_as(z) for t in self.tasks}, shared=z, per_task_views=True)

    def feature_dim(self, task: str) -> int:
        return self.encoder.out_dim

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters())

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.last_layer.parameters())
