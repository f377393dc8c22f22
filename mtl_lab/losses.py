"""The K task losses of a step, with their labelled counts.

For task t with per-unit losses l_i (a sample or a token) and labels on the units M_t of this rank's batch:

    L_t = sum_{i in M_t} l_i / (N_t / W)

where N_t is the number of labelled units of the task over all W ranks (N_t / W = |M_t| on one process,
the usual masked mean). DDP averages the ranks' gradients, so the backpropagated gradient is that of the
global masked mean sum_{all labelled i} l_i / N_t, whatever the ranks' shares of labels. N_t costs one
all-reduce of K numbers per training step under DDP. A task with no labelled unit in the step (N_t = 0,
or no targets in the batch) gets the loss 0 * sum(predictions): zero, but still connected to its head,
so DDP sees every parameter used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from mtl_lab.batch import Batch, ModelOutput
from mtl_lab.gradients import LOCAL, Reduction
from mtl_lab.tasks import TaskSpec


@dataclass
class TaskLosses:
    """``terms``: the K scalar losses (a gradient of ``terms[k]`` goes through task k's branch only);
    ``values``: them stacked, [K]; ``counts``: [K] labelled units over all ranks."""

    terms: list[Tensor]
    values: Tensor
    counts: Tensor


def task_losses(
    tasks: Mapping[str, TaskSpec], output: ModelOutput, batch: Batch, reduction: Reduction = LOCAL
) -> TaskLosses:
    sums, counts = [], []
    for task, spec in tasks.items():
        prediction, target = output.predictions[task], batch.targets.get(task)
        if target is None:  # this batch carries no labels of the task (one task per step)
            sums.append(prediction.sum().float() * 0.0)
            counts.append(torch.zeros((), device=prediction.device))
        else:
            total, count = spec.loss_terms(prediction, target, batch.labelled(task))
            sums.append(total)
            counts.append(count)
    local = torch.stack(counts)
    if reduction.distributed:
        counts_all = reduction.sum(local)
        denominators = (counts_all / reduction.world_size).clamp_min(1.0 / reduction.world_size)
    else:
        counts_all = local
        denominators = local.clamp_min(1.0)
    terms = [total / denominators[k] for k, total in enumerate(sums)]
    return TaskLosses(terms=terms, values=torch.stack(terms), counts=counts_all)
