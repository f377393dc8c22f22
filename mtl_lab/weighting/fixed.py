"""Fixed weighting: total = sum_t w_t L_t with constant w_t from YAML (default 1 for every task).

No state: a task without labels in a step keeps its (constant) coefficient, which multiplies its zero loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput


@WEIGHTINGS.register("fixed")
class FixedWeighting(Weighting):
    """``weights: {task: w}``; tasks not listed get 1.0. Weights must be finite and >= 0."""

    def __init__(self, tasks: Mapping[str, TaskSpec], weights: Mapping[str, float] | None = None) -> None:
        super().__init__(tasks)
        weights = dict(weights or {})
        for task, value in weights.items():
            if task not in tasks:
                raise unknown_choice("weighting.weights", task, tasks, "task (not among the selected tasks)")
            if not (float(value) >= 0 and torch.isfinite(torch.tensor(float(value)))):
                raise ConfigError(f"weighting.weights.{task}: must be a finite number >= 0, got {value}")
        values = [float(weights.get(t, 1.0)) for t in self.task_names]
        self.register_buffer("weights", torch.tensor(values, dtype=torch.float32))

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        return WeightingOutput(coefficients=self.weights, extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.weights
