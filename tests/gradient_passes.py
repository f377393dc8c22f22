"""The Gramian of per-task gradients measured by :mod:`mtl_lab.gradients`, and the same Gramian from K
separate forward + backward passes (one per task): what every architecture and encoder is checked
against at every gradient level."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab import gradients
from mtl_lab.batch import Batch
from mtl_lab.losses import task_losses
from mtl_lab.models.model import MultiTaskModel
from mtl_lab.tasks import TaskSpec


def measured_gramian(
    model: MultiTaskModel, tasks: Mapping[str, TaskSpec], batch: Batch, level: str
) -> Tensor:
    """The Gramian at ``level`` as a training step measures it (one pass where the graph allows)."""
    output = model(batch.inputs)
    losses = task_losses(tasks, output, batch)
    inputs, views = gradients.level_inputs(model.architecture, output, level)
    return gradients.gramian(losses.terms, inputs, representation=level == "representation", views=views)


def k_pass_gramian(model: MultiTaskModel, tasks: Mapping[str, TaskSpec], batch: Batch, level: str) -> Tensor:
    """J J^T with row k from a fresh forward pass and one backward of task k's loss alone."""
    rows = []
    for k in range(len(tasks)):
        output = model(batch.inputs)
        losses = task_losses(tasks, output, batch)
        wrt, _ = gradients.level_inputs(model.architecture, output, level)
        grads = torch.autograd.grad(losses.values[k], wrt, allow_unused=True)
        rows.append(
            torch.cat(
                [
                    (torch.zeros_like(w) if g is None else g).reshape(-1)
                    for g, w in zip(grads, wrt, strict=True)
                ]
            )
        )
    matrix = torch.stack(rows)
    return matrix @ matrix.T


def assert_gramian_is_k_passes(
    model: MultiTaskModel, tasks: Mapping[str, TaskSpec], batch: Batch, level: str
) -> None:
    gramian = measured_gramian(model, tasks, batch, level)
    expected = k_pass_gramian(model, tasks, batch, level)
    assert gramian.shape == (len(tasks), len(tasks)) and gramian.dtype == torch.float32
    assert torch.allclose(gramian, expected, rtol=1e-4, atol=1e-6), (gramian, expected)
