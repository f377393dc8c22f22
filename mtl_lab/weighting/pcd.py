"""PCD: Varam et al., "Not All Objectives Are Born Equal: Priority-Constrained Descent for
Hierarchical Multi-Objective Optimization", TMLR 2026.

The FIRST selected task is primary: d follows its gradient as closely as possible subject to every
other task getting at least a fraction ``tau`` of the progress along its own (EMA-normalised, decay
``beta``) gradient; d is rescaled to ||g_1||. Order-dependent by design, stateful (buffers
``sq_norm_ema``, ``ema_steps``). torchjd: ``PCDWeighting``.

Missing tasks: torchjd runs on the present tasks (the first PRESENT task is primary for that step) with
their ``sq_norm_ema`` entries; a missing task's entry is unchanged. ``ema_steps`` (torchjd's one
bias-correction count) counts the calls with any present task, so the EMA of a task that was missing in
early steps is under-corrected until beta^steps fades (a deviation; exact when every task is present).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import STATE_DTYPE, TorchJDWeighting, register
from mtl_lab.weighting.torchjd_private import pcd_state, set_pcd_state


@register
class PCD(TorchJDWeighting):
    """PCD (Varam et al. 2026): follow the primary task's gradient, guarantee the others' progress."""

    key = "pcd"
    stateful = True
    torchjd_class = aggregation.PCDWeighting
    permutation_invariant = False

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        tau: float = 0.02,
        beta: float = 0.999,
        eps: float = 1e-8,
        grad_level: str = "representation",
    ) -> None:
        super().__init__(tasks, grad_level, {"tau": tau, "beta": beta, "eps": eps})
        self.register_buffer("sq_norm_ema", torch.zeros(self.num_tasks, dtype=STATE_DTYPE))
        self.register_buffer("ema_steps", torch.zeros((), dtype=torch.long))

    def load_solver_state(self, solver: nn.Module, present: list[int]) -> None:
        set_pcd_state(solver, self.sq_norm_ema[present], self.ema_steps)

    def store_solver_state(self, solver: nn.Module, present: list[int]) -> None:
        sq_norm_ema, steps = pcd_state(solver)
        self.sq_norm_ema[torch.tensor(present, device=self.sq_norm_ema.device)] = sq_norm_ema.to(
            self.sq_norm_ema
        )
        self.ema_steps.copy_(steps)
