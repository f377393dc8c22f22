"""Uncertainty weighting: Kendall, Gal & Cipolla, "Multi-Task Learning Using Uncertainty to Weigh
Losses for Scene Geometry and Semantics", CVPR 2018.

Each task t has a learned log-variance s_t = log sigma_t^2. The objective is

    regression:      0.5 * exp(-s_t) * L_t + 0.5 * s_t
    classification:        exp(-s_t) * L_t + 0.5 * s_t     (multilabel tasks count as classification)

so the coefficient of L_t is c_t = f_t * exp(-s_t) (f_t = 0.5 or 1). The module backpropagates
sum_t c_t L_t with c_t detached; ``extra`` carries the gradient for s:
(c_t(s) - c_t.detach()) * L_t.detach() + 0.5 * s_t, whose value is sum 0.5 s_t and whose derivative
in s_t is -c_t L_t + 0.5, exactly the derivative of the objective above.

``init_log_var`` sets s at the start; ``lr`` its learning rate (None: the optimizer's); s gets no
weight decay.

Missing labels: the extra term sums over the present tasks only, so a missing task's s_t gets a zero
gradient (its 0.5 s_t term would otherwise push it up with nothing to balance it); as the model's
optimizer (Adam's momentum) can still move it, its value is remembered in ``forward`` and restored in
:meth:`on_after_optimizer_step` (:class:`~mtl_lab.weighting.per_task_state.HeldEntries`). Its
coefficient f_t exp(-s_t) is therefore its previous one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput
from mtl_lab.weighting.per_task_state import HeldEntries


@WEIGHTINGS.register("uncertainty")
class UncertaintyWeighting(Weighting):
    def __init__(
        self, tasks: Mapping[str, TaskSpec], init_log_var: float = 0.0, lr: float | None = None
    ) -> None:
        super().__init__(tasks)
        self.lr = lr
        self.log_vars = nn.Parameter(torch.full((self.num_tasks,), float(init_log_var)))
        factors = [0.5 if tasks[t].kind == "regression" else 1.0 for t in self.task_names]
        self.register_buffer("factors", torch.tensor(factors))
        self.held = HeldEntries()

    def _precisions(self) -> Tensor:
        return self.factors * torch.exp(-self.log_vars)

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        present = stats.present(self.num_tasks).to(self.log_vars.device)
        self.held.remember(self.log_vars, present)
        precisions = self._precisions()
        detached_losses = losses.detach().float()
        terms = (precisions - precisions.detach()) * detached_losses + 0.5 * self.log_vars
        extra = (terms * present).sum()
        return WeightingOutput(coefficients=precisions.detach(), extra=extra)

    def current_coefficients(self) -> Tensor:
        return self._precisions().detach()

    def logged_values(self) -> dict[str, Tensor]:
        return {f"log_var/{t}": self.log_vars[i].detach() for i, t in enumerate(self.task_names)}

    def on_after_optimizer_step(self) -> None:
        self.held.restore(self.log_vars)

    def param_groups(self, base_lr: float) -> list[dict[str, Any]]:
        return [
            {
                "params": [self.log_vars],
                "lr": self.lr if self.lr is not None else base_lr,
                "weight_decay": 0.0,
            }
        ]
