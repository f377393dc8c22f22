"""``binary``: a yes/no label per sample (click, conversion, churn), one logit, binary cross-entropy;
metrics ``accuracy``, ``f1`` (of the positive class) and ``auroc`` (exact), on the probability
sigmoid(logit) (threshold 0.5). Labels are 0/1 (booleans count)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.classification import BinaryAccuracy, BinaryF1Score

from mtl_lab.tasks.auroc import BinaryAUROCAnyRank
from mtl_lab.tasks.base import TASK_KINDS, TaskExample, TaskKind


@TASK_KINDS.register("binary")
class Binary(TaskKind):
    name = "binary"
    losses = ("bce",)
    metric_directions = {"accuracy": "max", "f1": "max", "auroc": "max"}
    fixed_outputs = 1

    def element_loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        logits = prediction.squeeze(-1)
        return F.binary_cross_entropy_with_logits(
            logits, target.float().reshape(logits.shape), reduction="none"
        )

    def make_metrics(self) -> dict[str, Metric]:
        return {"accuracy": BinaryAccuracy(), "f1": BinaryF1Score(), "auroc": BinaryAUROCAnyRank()}

    def metric_inputs(self, prediction: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        # probabilities: torchmetrics would take logits that happen to lie in [0, 1] for probabilities
        return torch.sigmoid(prediction).reshape(-1), target.long().reshape(-1)

    def invalid_target(self, targets: Tensor) -> str | None:
        bad = targets[(targets != 0) & (targets != 1)]
        return f"binary label {bad[0].item()} is not 0 or 1" if bad.numel() else None

    @classmethod
    def example(cls) -> TaskExample:
        g = torch.Generator().manual_seed(0)
        return TaskExample(1, torch.randn(6, 1, generator=g), torch.tensor([0, 1, 1, 0, 1, 0]))
