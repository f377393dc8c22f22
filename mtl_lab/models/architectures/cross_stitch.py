"""Cross-stitch networks (Misra, Shrivastava, Gupta & Hebert, CVPR 2016).

One column per task, each a staged encoder built from the ``encoder`` node. After every stage s a
cross-stitch unit mixes the K columns' outputs, channel by channel:

    x̃_t = Σ_u alpha[t, u] ⊙ x_u      alpha: [K, K, C_s] (per channel, as in strong reimplementations)

alpha starts convex: alpha[t, t] = ``self_weight`` (0.9, the paper's best), the other entries of row t
share 1 - self_weight equally (LibMTL starts all at 1); it is trained at ``lr_multiplier`` x the
optimizer's learning rate (the paper: 10²-10³). Task t's features are column t's ``finish`` of its
last x̃_t.

Shared, per ``grad_level``:

- ``params``: every column's stem and stages and every alpha: each task depends on all of them through
  the units; column u's ``finish`` feeds task u alone and is not shared;
- ``last_shared_layer``: the last unit's alpha (task t's gradient is non-zero in its row alpha[t] only);
- ``representation``: the K column outputs entering the last unit (x_1, ..., x_K); several tensors, so
  one backward pass per task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.architectures.staged import build_staged_encoder, check_several_tasks


class CrossStitchUnit(nn.Module):
    """x̃_t = Σ_u alpha[t, u] ⊙ x_u over K inputs [B, C, ...]; alpha [K, K, C] starts with rows of
    ``self_weight`` on the diagonal and (1 - self_weight) / (K - 1) elsewhere (convex: rows sum to 1)."""

    def __init__(self, num_tasks: int, channels: int, self_weight: float) -> None:
        super().__init__()
        other = (1.0 - self_weight) / (num_tasks - 1)
        init = torch.full((num_tasks, num_tasks), other) + torch.eye(num_tasks) * (self_weight - other)
        self.alpha = nn.Parameter(init[:, :, None].repeat(1, 1, channels))

    def forward(self, xs: Sequence[Tensor]) -> list[Tensor]:
        mixed = torch.einsum("tuc,ubc...->tbc...", self.alpha, torch.stack(list(xs)))
        return list(mixed.unbind(0))


@ARCHITECTURES.register("cross_stitch")
class CrossStitchArchitecture(Architecture):
    """Built with ``tasks`` (at least 2), ``inputs`` and a staged ``encoder`` (``cnn``, ``resnet``)."""

    def __init__(
        self,
        tasks: Sequence[str],
        inputs: Mapping[str, InputSpec],
        encoder: Mapping[str, Any],
        lr_multiplier: float = 100.0,
        self_weight: float = 0.9,
    ) -> None:
        super().__init__()
        check_several_tasks(tasks, "cross_stitch")
        if not 0.0 <= self_weight <= 1.0:
            raise ConfigError(
                f"architecture.self_weight: must be in [0, 1] (convex rows of alpha), got {self_weight}"
            )
        if lr_multiplier <= 0:
            raise ConfigError(f"architecture.lr_multiplier: must be > 0, got {lr_multiplier}")
        self.tasks = list(tasks)
        self.lr_multiplier = float(lr_multiplier)
        columns = [build_staged_encoder(encoder, inputs, "cross_stitch") for _ in self.tasks]
        units = [CrossStitchUnit(len(columns), c, self_weight) for c in columns[0].stage_channels]
        self.columns = nn.ModuleList(columns)
        self.units = nn.ModuleList(units)
        self._columns, self._units = columns, units  # the same modules, typed

    def forward(self, inputs: Mapping[str, Tensor]) -> ArchitectureOutput:
        xs = [column.stem(inputs) for column in self._columns]
        entering = xs
        for s, unit in enumerate(self._units):
            entering = [column.stages[s](x) for column, x in zip(self._columns, xs, strict=True)]
            xs = unit(entering)
        features = {t: column.finish(x) for t, column, x in zip(self.tasks, self._columns, xs, strict=True)}
        return ArchitectureOutput(features=features, shared=tuple(entering))

    def feature_dim(self, task: str) -> int:
        return self._columns[0].out_dim

    def shared_parameters(self) -> list[nn.Parameter]:
        own = {id(p) for column in self._columns for p in column.finish_parameters()}
        return [p for p in self.columns.parameters() if id(p) not in own] + list(self.units.parameters())

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return [self._units[-1].alpha]

    def lr_multipliers(self) -> list[tuple[list[nn.Parameter], float]]:
        return [(list(self.units.parameters()), self.lr_multiplier)]

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "tasks": ["a", "b"],
            "inputs": {"image": InputSpec((1, 7, 7))},
            "encoder": {"name": "cnn", "channels": [3, 4], "out_dim": 5},
        }
