"""``regression``: ``num_outputs`` real values per sample, ``mse`` (default) or ``l1`` loss (mean over the
outputs); metrics ``mae`` and ``rmse`` over all outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.regression import MeanAbsoluteError, MeanSquaredError

from mtl_lab.tasks.base import TASK_KINDS, TaskExample, TaskKind


@TASK_KINDS.register("regression")
class Regression(TaskKind):
    name = "regression"
    losses = ("mse", "l1")
    metric_directions = {"mae": "min", "rmse": "min"}

    def element_loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        loss = F.mse_loss if self.loss == "mse" else F.l1_loss
        per_output = loss(prediction, target.float().reshape(prediction.shape), reduction="none")
        return per_output.flatten(1).mean(dim=-1)

    def make_metrics(self) -> dict[str, Metric]:
        return {"mae": MeanAbsoluteError(), "rmse": MeanSquaredError(squared=False)}

    def metric_inputs(self, prediction: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return prediction.flatten(), target.float().flatten()

    def invalid_target(self, targets: Tensor) -> str | None:
        return None if torch.isfinite(targets.float()).all() else "regression targets contain NaN or inf"

    @classmethod
    def example(cls) -> TaskExample:
        g = torch.Generator().manual_seed(0)
        return TaskExample(2, torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g))
