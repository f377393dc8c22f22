"""GradNorm: Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient Normalization for Adaptive
Loss Balancing in Deep Multitask Networks", ICML 2018.

Learned task weights w_t (initialised to 1) scale the task losses: total = sum_t w_t L_t. With
g_t = ||grad_W L_t|| at the last shared layer W, G_t = w_t g_t, the mean norm G_bar = mean_t G_t,
the loss ratio L~_t = L_t / L_t(0) and the relative inverse training rate r_t = L~_t / mean_t L~_t,
the weights minimise

    L_grad = sum_t | G_t - [G_bar * r_t^alpha] |

where the bracketed target is held constant (no gradient). Only w receives L_grad's gradient, and
only w's gradient comes from L_grad (the coefficients of the task losses are w detached). After each
optimizer step w is clamped positive and renormalised so that sum_t w_t = T.

Settings: ``alpha`` (1.5; the paper uses 0.12 on its toy regression), ``lr`` for w (None: the
optimizer's), ``initial_loss_steps``: L_t(0) is the mean of the (rank-averaged) L_t over the first N
training steps (N = 1, the paper's choice, takes the very first batch's loss), ``grad_level``
(``last_shared_layer`` as in the paper; ``representation`` or ``params`` also work).

Under DDP, g_t and L_t are averaged over ranks before use, so every rank computes the same L_grad and
keeps identical weights; under mixed precision g_t is measured on the unscaled loss, and a step whose
g_t overflowed leaves w unchanged.

Missing labels (per-task counts, global over ranks): L_t(0) averages the first ``initial_loss_steps``
steps in which task t is present (``initial_count`` is per task); G_bar, the mean of the loss ratios and
L_grad run over the present tasks only, so a missing task's w_t gets no gradient; its value is
remembered in ``forward`` and restored after the optimizer step (whose momentum would move it,
:class:`~mtl_lab.weighting.per_task_state.HeldEntries`), and the renormalisation rescales the present
weights only, to K minus the missing ones: sum_t w_t = K still holds and w_t is unchanged. Refused with
one-task-per-step data (``needs_all_tasks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput
from mtl_lab.weighting.per_task_state import HeldEntries, upgrade_scalar_counters

MIN_WEIGHT = 1e-6
TINY = torch.finfo(torch.float32).tiny


@WEIGHTINGS.register("gradnorm")
class GradNormWeighting(Weighting):
    requires = frozenset({"global_losses", "grad_norms"})
    normalization = "sum_to_num_tasks"
    needs_all_tasks = True

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        alpha: float = 1.5,
        lr: float | None = None,
        initial_loss_steps: int = 1,
        grad_level: str = "last_shared_layer",
    ) -> None:
        super().__init__(tasks, grad_level=grad_level)
        if initial_loss_steps < 1:
            raise ConfigError(f"weighting.initial_loss_steps: must be >= 1, got {initial_loss_steps}")
        self.alpha = float(alpha)
        self.lr = lr
        self.initial_loss_steps = int(initial_loss_steps)
        self.weights = nn.Parameter(torch.ones(self.num_tasks))
        self.register_buffer("initial_losses", torch.zeros(self.num_tasks))
        self.register_buffer("initial_count", torch.zeros(self.num_tasks, dtype=torch.long))
        upgrade_scalar_counters(self, ["initial_count"])
        self.held = HeldEntries()

    @torch.no_grad()
    def _update_initial_losses(self, global_losses: Tensor, present: Tensor) -> None:
        update = present & (self.initial_count < self.initial_loss_steps)
        n = self.initial_count + update.long()
        average = self.initial_losses + (global_losses - self.initial_losses) / n.clamp_min(1)
        self.initial_losses.copy_(torch.where(update, average, self.initial_losses))
        self.initial_count.copy_(n)

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        assert stats.global_losses is not None and stats.grad_norms is not None
        present = stats.present(self.num_tasks).to(self.weights.device)
        self.held.remember(self.weights, present)
        global_losses = stats.global_losses.float()
        self._update_initial_losses(global_losses, present)
        n_present = present.sum().clamp_min(1)
        loss_ratios = torch.where(present, global_losses / self.initial_losses.clamp_min(TINY), 0.0)
        inverse_rates = loss_ratios / (loss_ratios.sum() / n_present).clamp_min(TINY)
        norms = torch.where(present, stats.grad_norms.float(), 0.0)
        finite = torch.isfinite(norms).all()
        norms = torch.where(finite, norms, torch.zeros_like(norms))
        weighted_norms = self.weights * norms
        mean_norm = (weighted_norms * present).sum() / n_present
        target = (mean_norm * inverse_rates.pow(self.alpha)).detach()
        grad_loss = ((weighted_norms - target).abs() * present).sum()
        extra = torch.where(finite, grad_loss, torch.zeros_like(grad_loss))
        return WeightingOutput(coefficients=self.weights.detach().clone(), extra=extra)

    def current_coefficients(self) -> Tensor:
        return self.weights.detach()

    def param_groups(self, base_lr: float) -> list[dict[str, Any]]:
        return [
            {"params": [self.weights], "lr": self.lr if self.lr is not None else base_lr, "weight_decay": 0.0}
        ]

    @torch.no_grad()
    def on_after_optimizer_step(self) -> None:
        """Missing tasks' weights back to their values before the step; the present ones clamped positive
        and rescaled so that all weights sum to K."""
        missing = self.held.restore(self.weights)
        present = torch.ones_like(self.weights, dtype=torch.bool) if missing is None else ~missing
        weights = torch.where(present, self.weights.clamp(min=MIN_WEIGHT), self.weights)
        target = (self.num_tasks - (weights * ~present).sum()).clamp_min(MIN_WEIGHT * present.sum())
        scale = target / (weights * present).sum().clamp_min(TINY)
        self.weights.copy_(torch.where(present, weights * scale, weights))
