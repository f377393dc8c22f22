"""GradVac: Wang et al., "Gradient Vaccine: Investigating and Improving Multi-task Optimization in
Massively Multilingual Models", ICLR 2021.

Like PCGrad (random order, ``seed``), but g_i is corrected towards an EMA target cosine phi_hat_ij
(decay ``beta``) whenever its cosine with g_j falls below it. Stateful (phi_hat, a K x K buffer
``phi_hat``). Missing tasks: torchjd runs on the present tasks' sub-Gramian with the phi_hat block of
the present pairs, and only that block is written back (a missing task's row and column are unchanged;
one present task: weight 1, nothing to update). torchjd: ``GradVacWeighting``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import STATE_DTYPE, TorchJDWeighting, register
from mtl_lab.weighting.torchjd_private import gradvac_state, set_gradvac_state


@register
class GradVac(TorchJDWeighting):
    """GradVac (Wang et al. 2021): gradients corrected towards EMA targets of their pairwise cosines."""

    key = "gradvac"
    stateful = True
    torchjd_class = aggregation.GradVacWeighting
    permutation_invariant = False

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        beta: float = 0.5,
        eps: float = 1e-8,
        seed: int | None = 0,
        grad_level: str = "representation",
    ) -> None:
        super().__init__(tasks, grad_level, {"beta": beta, "eps": eps}, seed=seed)
        self.register_buffer("phi_hat", torch.zeros(self.num_tasks, self.num_tasks, dtype=STATE_DTYPE))

    def load_solver_state(self, solver: nn.Module, present: list[int]) -> None:
        set_gradvac_state(solver, self.phi_hat[present][:, present])

    def store_solver_state(self, solver: nn.Module, present: list[int]) -> None:
        index = torch.tensor(present, device=self.phi_hat.device)
        self.phi_hat[index.unsqueeze(1), index] = gradvac_state(solver).to(self.phi_hat)
