"""``multilabel``: ``num_outputs`` independent 0/1 labels per sample, binary cross-entropy on the logits
(mean over the labels); metrics ``macro_f1`` and ``auroc`` (macro)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import MultilabelF1Score

from mtl_lab.tasks.auroc import MultilabelAUROCAnyRank
from mtl_lab.tasks.base import TASK_KINDS, TaskExample, TaskKind


@TASK_KINDS.register("multilabel")
class Multilabel(TaskKind):
    name = "multilabel"
    losses = ("bce",)
    metric_directions = {"macro_f1": "max", "auroc": "max"}

    def element_loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(prediction, target.float(), reduction="none").mean(dim=-1)

    def make_metrics(self) -> dict[str, Metric]:
        return {
            "macro_f1": MultilabelF1Score(self.num_outputs, average="macro"),
            "auroc": MultilabelAUROCAnyRank(self.num_outputs, average="macro"),
        }

    def metric_inputs(self, prediction: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        return prediction, target.long()

    def invalid_target(self, targets: Tensor) -> str | None:
        bad = targets[(targets != 0) & (targets != 1)]
        return f"multilabel target {bad[0].item()} is not 0 or 1" if bad.numel() else None

    @classmethod
    def example(cls) -> TaskExample:
        g = torch.Generator().manual_seed(0)
        target = torch.tensor([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 0]])
        return TaskExample(3, torch.randn(6, 3, generator=g), target)
