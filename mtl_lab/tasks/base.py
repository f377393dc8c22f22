"""Task-kind contract: what a kind of task predicts, its loss, metrics, their directions, label checks.

A kind is one registered class (one file each in this package). A task of the data is a
:class:`~mtl_lab.tasks.spec.TaskSpec` (name, kind, size, loss, class names) whose behaviour is its kind's.

Loss contract: :meth:`TaskKind.element_loss` gives the loss of every labelled unit (a sample, a token),
shape = the mask's shape; :meth:`TaskKind.loss_terms` masks it and returns (sum, labelled count), so a
masked mean never divides by a missing label and never sees the value stored under a False mask.

Metric contract: :meth:`TaskKind.select_labelled` picks what the metrics see of a batch (by default the
labelled units, flattened; a kind whose metrics need whole sequences keeps them), then
:meth:`TaskKind.metric_inputs` shapes it for the kind's torchmetrics. :attr:`TaskKind.unit` says what a
prediction is made for: a ``sample`` (features [B, D]) or each ``token`` of a sequence ([B, T, D]).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor
from torchmetrics import Metric

from mtl_lab.errors import DataError
from mtl_lab.registry import Registry

TASK_KINDS: Registry[TaskKind] = Registry("task kind")

DIRECTIONS = ("max", "min")


@dataclass
class TaskExample:
    """A small input of a kind for the contract tests: head outputs and valid targets for 6 samples."""

    num_outputs: int
    prediction: Tensor
    target: Tensor
    #: The task's class names, for kinds that need them (token_classification: its BIO tags).
    class_names: tuple[str, ...] | None = None


class TaskKind(ABC):
    """Behaviour of one kind of task, built with the task's ``num_outputs``, ``loss`` and ``class_names``
    (None when the data has none; a kind that needs them raises a :class:`ConfigError` without the task's
    name, which :class:`~mtl_lab.tasks.spec.TaskSpec` adds)."""

    #: Registered name (``kind:`` in YAML and ``summary.json``).
    name: ClassVar[str]
    #: Accepted values of the task's ``loss``; the first is the default.
    losses: ClassVar[tuple[str, ...]]
    #: Every metric the kind logs and whether larger (``max``) or smaller (``min``) is better; checkpoint
    #: modes, early stopping, Optuna directions and Δm% read it.
    metric_directions: ClassVar[dict[str, str]]
    #: The head's output size when the kind fixes it (binary: 1 logit), else None.
    fixed_outputs: ClassVar[int | None] = None
    #: What one prediction is for: a ``sample`` (the head reads [B, D]) or a ``token`` ([B, T, D]).
    unit: ClassVar[Literal["sample", "token"]] = "sample"

    def __init__(self, num_outputs: int, loss: str, class_names: tuple[str, ...] | None = None) -> None:
        self.num_outputs = num_outputs
        self.loss = loss
        self.class_names = class_names

    @abstractmethod
    def element_loss(self, prediction: Tensor, target: Tensor) -> Tensor:
        """Loss of every labelled unit (float32), shape = the target's leading (mask) shape."""

    @abstractmethod
    def make_metrics(self) -> dict[str, Metric]:
        """Fresh torchmetrics, keyed by the metric names of :attr:`metric_directions`."""

    @abstractmethod
    def metric_inputs(self, prediction: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """(preds, target) as this kind's metrics expect them, from :meth:`select_labelled`'s output."""

    def select_labelled(
        self, prediction: Tensor, target: Tensor, mask: Tensor | None
    ) -> tuple[Tensor, Tensor] | None:
        """(prediction, target) of the labelled units for the metrics, or None when none is labelled.
        Default: the labelled units, flattened (``prediction[mask]``, ``target[mask]``)."""
        if mask is not None:
            prediction, target = prediction[mask], target[mask]
        return (prediction, target) if target.shape[0] > 0 else None

    @abstractmethod
    def invalid_target(self, targets: Tensor) -> str | None:
        """Why ``targets`` (labelled units only) are not valid labels of this task, or None."""

    @classmethod
    @abstractmethod
    def example(cls) -> TaskExample:
        """Head outputs and targets of 6 samples, for the contract tests."""

    def loss_terms(self, prediction: Tensor, target: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """(sum of the labelled units' losses, their count), both float32 scalars on the device."""
        if mask is None:
            per_unit = self.element_loss(prediction.float(), target)
            return per_unit.sum(), torch.tensor(float(per_unit.numel()), device=per_unit.device)
        # what a missing label holds (NaN, a placeholder class) never reaches the loss
        labelled = mask.reshape(*mask.shape, *[1] * (target.dim() - mask.dim()))
        safe = torch.where(labelled, target, torch.zeros_like(target))
        per_unit = self.element_loss(prediction.float(), safe)
        if per_unit.shape != mask.shape:  # a [B, 1] mask against [B] losses would broadcast to [B, B]
            raise DataError(
                f"{self.name} task: mask of shape {tuple(mask.shape)} for losses of shape "
                f"{tuple(per_unit.shape)} (one mask entry per labelled unit: a sample or a token)"
            )
        return torch.where(mask, per_unit, 0.0).sum(), mask.sum().float()


def all_metric_directions(kinds: Mapping[str, type[TaskKind]]) -> dict[str, str]:
    """Direction of every metric name any kind logs (plus ``loss``: min); a name two kinds declare
    with opposite directions is an error of the kinds' definitions."""
    directions = {"loss": "min"}
    for kind in kinds.values():
        for metric, direction in kind.metric_directions.items():
            if direction not in DIRECTIONS:
                raise ValueError(f"task kind {kind.name!r}: metric {metric!r} has direction {direction!r}")
            if directions.setdefault(metric, direction) != direction:
                raise ValueError(f"metric {metric!r}: task kinds declare opposite directions")
    return directions
