"""Divergence detection without a host sync per step.

Every step records, on the device, whether the objective is finite and, for the first step that is not,
its step number and losses (``torch.where``: no transfer to the host). :meth:`DivergenceMonitor.check`
reads the record (one host sync; under DDP one all-reduce of the first bad step, the minimum over ranks)
and raises :class:`DivergenceError` naming that first bad step (with the losses where this rank saw it).
The module checks every ``check_divergence_every_n_steps`` steps and at the last step of every epoch,
before validation and checkpointing, so no checkpoint holds a diverged model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from mtl_lab.errors import DivergenceError

NEVER = 2**62  # no non-finite step recorded


class DivergenceMonitor:
    def __init__(self, task_names: Sequence[str]) -> None:
        self.labels = [*task_names, "objective"]
        self.first_bad_step: Tensor | None = None
        self.bad_values: Tensor | None = None

    def record(self, step: int, objective: Tensor, losses: Tensor) -> None:
        objective = objective.detach().float()
        if self.first_bad_step is None or self.bad_values is None:
            self.first_bad_step = torch.full((), -1, dtype=torch.long, device=objective.device)
            self.bad_values = torch.zeros(len(self.labels), device=objective.device)
        first = ~torch.isfinite(objective) & (self.first_bad_step < 0)
        self.first_bad_step = torch.where(first, step, self.first_bad_step)
        values = torch.cat([losses.detach().float(), objective.reshape(1)])
        self.bad_values = torch.where(first, values, self.bad_values)

    def check(self, reduce_min: Callable[[Tensor], Tensor] | None = None) -> None:
        """Raise if a recorded step diverged, on this rank or (with ``reduce_min`` over ranks) any rank."""
        if self.first_bad_step is None or self.bad_values is None:
            return
        own = torch.where(self.first_bad_step >= 0, self.first_bad_step, NEVER)
        first = own if reduce_min is None else reduce_min(own)
        step = int(first)
        if step == NEVER:
            return
        values = dict(zip(self.labels, self.bad_values.tolist(), strict=True)) if int(own) == step else {}
        raise DivergenceError(step, values)
