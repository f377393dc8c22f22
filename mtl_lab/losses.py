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
    # per task: its mean when every unit is labelled (the common case: the fewest tensor operations),
    # else the sum over the labelled units; counts stay Python ints where they are known
    totals: list[Tensor] = []
    counts: list[Tensor | int] = []
    for task, spec in tasks.items():
        prediction, target, mask = output.predictions[task], batch.targets.get(task), batch.labelled(task)
        if target is None:  # this batch carries no labels of the task (one task per step)
            totals.append(prediction.sum().float() * 0.0)
            counts.append(0)
        elif mask is None:
            per_unit = spec.behaviour.element_loss(prediction.float(), target)
            totals.append(per_unit.mean())
            counts.append(per_unit.numel())
        else:
            total, count = spec.loss_terms(prediction, target, mask)
            totals.append(total)
            counts.append(count)
    device = totals[0].device
    if all(isinstance(c, int) for c in counts):
        local = torch.tensor(counts, dtype=torch.float32, device=device)
    else:
        local = torch.stack([torch.as_tensor(c, dtype=torch.float32, device=device) for c in counts])
    if not reduction.distributed:
        terms = [
            t if isinstance(c, int) else t / c.clamp_min(1.0) for t, c in zip(totals, counts, strict=True)
        ]
        return TaskLosses(terms=terms, values=torch.stack(terms), counts=local)
    counts_all = reduction.sum(local)
    denominators = (counts_all / reduction.world_size).clamp_min(1.0 / reduction.world_size)
    sums = [t * c if isinstance(c, int) and c else t for t, c in zip(totals, counts, strict=True)]
    terms = [total / denominators[k] for k, total in enumerate(sums)]
    return TaskLosses(terms=terms, values=torch.stack(terms), counts=counts_all)
