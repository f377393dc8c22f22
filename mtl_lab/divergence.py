"""Divergence detection without a host sync per step.

Every step the objective and the task losses (detached) are kept in a list, with no tensor operation and
no transfer to the host. :meth:`DivergenceMonitor.check` stacks the kept values, finds the first step
whose objective is not finite (one host sync; under DDP one all-reduce of that step, the minimum over
ranks), raises :class:`DivergenceError` naming it (with the losses where this rank saw it) and otherwise
forgets them. The module checks every ``check_divergence_every_n_steps`` steps and at the last step of
every epoch, before validation and checkpointing, so no checkpoint holds a diverged model.
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
        self.steps: list[int] = []
        self.objectives: list[Tensor] = []
        self.losses: list[Tensor] = []

    def record(self, step: int, objective: Tensor, losses: Tensor) -> None:
        self.steps.append(step)
        self.objectives.append(objective.detach())
        self.losses.append(losses.detach())

    def check(self, reduce_min: Callable[[Tensor], Tensor] | None = None) -> None:
        """Raise if a recorded step diverged, on this rank or (with ``reduce_min`` over ranks) any rank."""
        if not self.objectives:
            return
        bad = ~torch.isfinite(torch.stack([o.float() for o in self.objectives]))
        steps = torch.tensor(self.steps, device=bad.device)
        own = torch.where(bad, steps, NEVER).min()
        first = int(own if reduce_min is None else reduce_min(own))
        if first == NEVER:
            self.steps, self.objectives, self.losses = [], [], []
            return
        values: dict[str, float] = {}
        if int(own) == first:
            index = self.steps.index(first)
            measured = [*self.losses[index].float().tolist(), float(self.objectives[index])]
            values = dict(zip(self.labels, measured, strict=True))
        raise DivergenceError(first, values)
