"""``classification``: one of ``num_outputs`` classes per labelled unit (integer labels), cross-entropy on
the logits; metrics ``accuracy`` (micro) and ``macro_f1``. Predictions of shape [B, C] or, for
per-token tasks, [B, T, C] with targets [B] or [B, T]."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from mtl_lab.tasks.base import TASK_KINDS, TaskExample, TaskKind
from mtl_lab.tasks.spec import integer_labels


@TASK_KINDS.register("classification")
class Classification(TaskKind):
    name = "classification"
    losses = ("cross_entropy",)
    metric_directions = {"accuracy": "max", "macro_f1": "max"}

    def element_loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        logits = prediction.movedim(-1, 1) if prediction.dim() > 2 else prediction
        return F.cross_entropy(logits, target.long(), reduction="none")

    def make_metrics(self) -> dict[str, Metric]:
        return {
            "accuracy": MulticlassAccuracy(self.num_outputs, average="micro"),
            "macro_f1": MulticlassF1Score(self.num_outputs, average="macro"),
        }

    def metric_inputs(self, prediction: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return prediction, target.long()

    def invalid_target(self, targets: Tensor) -> str | None:
        if not integer_labels(targets):
            return "classification labels must be integers"
        bad = targets[(targets < 0) | (targets >= self.num_outputs)]
        if bad.numel():
            return f"label {int(bad[0])} outside the task's classes 0..{self.num_outputs - 1}"
        return None

    @classmethod
    def example(cls) -> TaskExample:
        g = torch.Generator().manual_seed(0)
        return TaskExample(4, torch.randn(6, 4, generator=g), torch.tensor([0, 3, 1, 2, 3, 0]))
