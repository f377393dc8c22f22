"""TaskSpec: one task of a datamodule (name, kind, output size, loss, class names) with its kind's
behaviour (:mod:`mtl_lab.tasks.base`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torchmetrics import MetricCollection

from mtl_lab.errors import ConfigError, DataError, unknown_choice
from mtl_lab.tasks.base import TASK_KINDS, TaskKind


@dataclass(frozen=True)
class TaskSpec:
    """A task: ``name``, ``kind`` (a registered task kind), ``num_outputs`` (the head's output size),
    ``loss`` (None: the kind's default) and ``class_names`` (the label of each class index, when the
    data has names, e.g. string labels of a table)."""

    name: str
    kind: str
    num_outputs: int
    loss: str | None = None
    class_names: tuple[str, ...] | None = None
    behaviour: TaskKind = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise unknown_choice(f"task {self.name!r} kind", self.kind, TASK_KINDS, "task kind")
        kind = TASK_KINDS.resolve(self.kind)
        if self.loss is None:
            object.__setattr__(self, "loss", kind.losses[0])
        if self.loss not in kind.losses:
            raise unknown_choice(f"task {self.name!r} loss", self.loss, kind.losses, "loss")
        if self.num_outputs < 1:
            raise ConfigError(f"task {self.name!r}: num_outputs must be >= 1, got {self.num_outputs}")
        if kind.fixed_outputs is not None and self.num_outputs != kind.fixed_outputs:
            raise ConfigError(
                f"task {self.name!r}: a {self.kind} task has {kind.fixed_outputs} output(s), "
                f"got {self.num_outputs}"
            )
        if self.class_names is not None and len(self.class_names) != self.num_outputs:
            raise ConfigError(
                f"task {self.name!r}: {len(self.class_names)} class names for {self.num_outputs} outputs"
            )
        try:
            behaviour = kind(self.num_outputs, str(self.loss), class_names=self.class_names)
        except ConfigError as err:  # the kind does not know the task's name
            raise ConfigError(f"task {self.name!r}: {err}") from None
        object.__setattr__(self, "behaviour", behaviour)

    @property
    def metric_directions(self) -> dict[str, str]:
        return dict(self.behaviour.metric_directions)

    @property
    def unit(self) -> str:
        """``sample`` or ``token``: what one prediction of the task is for (its kind's)."""
        return self.behaviour.unit

    def loss_terms(self, prediction: Tensor, target: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """(sum of the labelled units' losses, their count); see :meth:`TaskKind.loss_terms`."""
        return self.behaviour.loss_terms(prediction, target, mask)

    def compute_loss(self, prediction: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        """Mean loss over the labelled units (0 when none is labelled)."""
        total, count = self.loss_terms(prediction, target, mask)
        return total / count.clamp_min(1.0)

    def make_metrics(self) -> MetricCollection:
        """Fresh torchmetrics for this task, keyed by the metric name used in logged names."""
        return MetricCollection(self.behaviour.make_metrics())

    def metric_inputs(self, prediction: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Shape/dtype the (prediction, target) pair of labelled units the way the metrics expect."""
        return self.behaviour.metric_inputs(prediction.detach().float(), target)

    def select_labelled(
        self, prediction: Tensor, target: Tensor, mask: Tensor | None
    ) -> tuple[Tensor, Tensor] | None:
        """What the metrics see of a batch, or None without labels; see :meth:`TaskKind.select_labelled`."""
        return self.behaviour.select_labelled(prediction, target, mask)

    def validate_targets(self, targets: Tensor, where: str, mask: Tensor | None = None) -> None:
        """Raise :class:`DataError` naming the task and the bad value if a labelled target is invalid."""
        labelled = targets if mask is None else targets[mask]
        if labelled.numel() == 0:
            return
        problem = self.behaviour.invalid_target(labelled)
        if problem is not None:
            raise DataError(f"task {self.name!r} ({where}): {problem}")

    def describe(self) -> dict[str, Any]:
        """JSON-friendly description for ``summary.json``."""
        described: dict[str, Any] = {"kind": self.kind, "num_outputs": self.num_outputs, "loss": self.loss}
        if self.class_names is not None:
            described["class_names"] = list(self.class_names)
        return described


def integer_labels(targets: Tensor) -> bool:
    """Whether every value is a whole number (float targets may hold class indices)."""
    return not targets.is_floating_point() or bool(torch.equal(targets, targets.round()))
