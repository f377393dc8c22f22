"""Scale-invariant loss: minimise sum_k log L_k, the "SI" baseline of Navon et al., "Multi-Task Learning
as a Bargaining Game" (ICML 2022), and the loss-scale half of DB-MTL (Lin et al. 2023).

grad log L_k = grad L_k / L_k, so the coefficients are c_k = 1 / (L_k + 1e-8) (detached): multiplying a
task's loss by a constant leaves the update unchanged. L_k are the rank-averaged losses
(``global_losses``), so every DDP rank uses the same coefficients. No state, no hyper-parameters.
A task without labels in a step keeps its previous coefficient (its loss is 0, not a loss value).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput

EPS = 1e-8


@WEIGHTINGS.register("scale_invariant")
class ScaleInvariantWeighting(Weighting):
    requires = frozenset({"global_losses"})

    def __init__(self, tasks: Mapping[str, TaskSpec]) -> None:
        super().__init__(tasks)
        self.register_buffer("weights", torch.ones(self.num_tasks))

    @torch.no_grad()
    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        assert stats.global_losses is not None
        present = stats.present(self.num_tasks).to(self.weights.device)
        inverse = 1.0 / (stats.global_losses.detach().float() + EPS)
        self.weights.copy_(self.keep_missing(inverse, self.weights, present))
        return WeightingOutput(coefficients=self.weights.clone(), extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.weights
