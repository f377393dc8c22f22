"""Task specifications: what a task predicts, its loss, its metrics and their direction.

A datamodule declares its tasks as :class:`TaskSpec` objects. Kinds:

- ``classification``: ``num_outputs`` classes, integer labels in ``[0, num_outputs)``, cross-entropy;
  metrics ``accuracy`` and ``macro_f1``.
- ``multilabel``: ``num_outputs`` binary labels in {0, 1}, binary cross-entropy on logits;
  metrics ``macro_f1`` and ``auroc`` (macro).
- ``regression``: ``num_outputs`` real targets, ``mse`` (default) or ``l1`` loss;
  metrics ``mae`` and ``rmse``.

Losses are masked means: samples whose mask is False do not count (partial labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MultilabelAUROC,
    MultilabelF1Score,
)
from torchmetrics.regression import MeanAbsoluteError, MeanSquaredError

from mtl_lab.errors import ConfigError, DataError, unknown_choice

TaskKind = Literal["classification", "multilabel", "regression"]

LOSSES_BY_KIND: dict[str, tuple[str, ...]] = {
    "classification": ("cross_entropy",),
    "multilabel": ("bce",),
    "regression": ("mse", "l1"),
}

#: Whether a larger value is better, for every metric name mtl_lab logs (used for checkpoint mode and Δm).
HIGHER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "macro_f1": True,
    "auroc": True,
    "mae": False,
    "rmse": False,
    "loss": False,
}


def metric_direction(logged_name: str) -> str:
    """``"max"`` or ``"min"`` for a logged name such as ``val/left/accuracy`` or ``val/loss``."""
    metric = logged_name.rsplit("/", 1)[-1]
    if metric not in HIGHER_IS_BETTER:
        raise unknown_choice(
            "optimized_metric", logged_name, HIGHER_IS_BETTER, "metric (last part of the name)"
        )
    return "max" if HIGHER_IS_BETTER[metric] else "min"


@dataclass(frozen=True)
class TaskSpec:
    """One task of a datamodule: its name, kind, output size and loss."""

    name: str
    kind: TaskKind
    num_outputs: int
    loss: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in LOSSES_BY_KIND:
            raise unknown_choice(f"task {self.name!r} kind", self.kind, LOSSES_BY_KIND, "task kind")
        if self.loss is None:
            object.__setattr__(self, "loss", LOSSES_BY_KIND[self.kind][0])
        if self.loss not in LOSSES_BY_KIND[self.kind]:
            raise unknown_choice(f"task {self.name!r} loss", self.loss, LOSSES_BY_KIND[self.kind], "loss")
        if self.num_outputs < 1:
            raise ConfigError(f"task {self.name!r}: num_outputs must be >= 1, got {self.num_outputs}")

    def compute_loss(self, prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        """Mean loss over the samples where ``mask`` is True (all samples when ``mask`` is None)."""
        prediction = prediction.float()
        if self.loss == "cross_entropy":
            per_sample = F.cross_entropy(prediction, target.long(), reduction="none")
        elif self.loss == "bce":
            per_sample = F.binary_cross_entropy_with_logits(
                prediction, target.float(), reduction="none"
            ).mean(dim=-1)
        else:
            target = target.float().reshape(prediction.shape)
            fn = F.mse_loss if self.loss == "mse" else F.l1_loss
            per_sample = fn(prediction, target, reduction="none").flatten(1).mean(dim=-1)
        if mask is None:
            return per_sample.mean()
        weights = mask.to(per_sample.dtype)
        return (per_sample * weights).sum() / weights.sum().clamp_min(1.0)

    def make_metrics(self) -> MetricCollection:
        """Fresh torchmetrics for this task, keyed by the metric name used in logged names."""
        metrics: dict[str, Metric]
        if self.kind == "classification":
            metrics = {
                "accuracy": MulticlassAccuracy(self.num_outputs, average="micro"),
                "macro_f1": MulticlassF1Score(self.num_outputs, average="macro"),
            }
        elif self.kind == "multilabel":
            metrics = {
                "macro_f1": MultilabelF1Score(self.num_outputs, average="macro"),
                "auroc": MultilabelAUROC(self.num_outputs, average="macro"),
            }
        else:
            metrics = {"mae": MeanAbsoluteError(), "rmse": MeanSquaredError(squared=False)}
        return MetricCollection(metrics)

    def metric_inputs(self, prediction: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Shape/dtype the (prediction, target) pair the way this task's metrics expect."""
        prediction = prediction.detach().float()
        if self.kind == "classification":
            return prediction, target.long()
        if self.kind == "multilabel":
            return prediction, target.long()
        return prediction.flatten(), target.float().flatten()

    def validate_targets(self, targets: Tensor, where: str) -> None:
        """Raise :class:`DataError` naming the task and the bad value if any target is invalid."""
        if self.kind == "classification":
            if targets.is_floating_point() and not torch.equal(targets, targets.round()):
                raise DataError(f"task {self.name!r} ({where}): classification labels must be integers")
            bad = targets[(targets < 0) | (targets >= self.num_outputs)]
            if bad.numel():
                raise DataError(
                    f"task {self.name!r} ({where}): label {int(bad[0])} outside the task's classes "
                    f"0..{self.num_outputs - 1}"
                )
        elif self.kind == "multilabel":
            bad = targets[(targets != 0) & (targets != 1)]
            if bad.numel():
                raise DataError(
                    f"task {self.name!r} ({where}): multilabel target {bad[0].item()} is not 0 or 1"
                )
        elif not torch.isfinite(targets.float()).all():
            raise DataError(f"task {self.name!r} ({where}): regression targets contain NaN or inf")

    def describe(self) -> dict[str, object]:
        """JSON-friendly description for ``summary.json``."""
        return {"kind": self.kind, "num_outputs": self.num_outputs, "loss": self.loss}
