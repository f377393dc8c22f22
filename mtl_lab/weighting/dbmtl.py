"""DB-MTL: Lin, Ye, Xu, Shi & Zhang, "Dual-Balancing Multi-Task Learning", arXiv:2308.12029, 2023
(reference implementation: LibMTL's ``DB_MTL``).

Two balancings, both expressed as the coefficients of one backward:

- loss scale: each task is trained on log L_k, whose gradient is grad L_k / L_k;
- gradient magnitude: each task's (log-loss) gradient is scaled to the largest EMA gradient norm,

    n_k = ||grad log L_k|| = ||grad L_k|| / L_k,
    n_hat_k <- beta_t n_hat_k + (1 - beta_t) n_k,   beta_t = beta / t^sigma   (n_hat = 0 at t = 0),
    alpha_k = max_i n_hat_i / n_hat_k,
    c_k = alpha_k / L_k   (detached),  so that sum_k c_k grad L_k = sum_k alpha_k grad log L_k.

``beta`` (0.9) and ``beta_sigma`` (sigma, 0) are LibMTL's defaults; 1e-8 is added to L_k and n_hat_k as
there. ``grad_level`` says where the norms are measured: ``params`` (all shared parameters, as in the
paper; one extra backward per task), ``representation`` (the shared features, cheap) or
``last_shared_layer``.

Deviation: the paper keeps an EMA of the gradient *vectors* g_hat_k, scales them and applies
sum_k alpha_k g_hat_k. The module provides norms, not vectors, so the EMA is kept on the norms
(n_hat_k, an EMA of ||g_k|| rather than ||EMA of g_k||) and alpha scales the current step's gradients.
Losses and norms are the rank-averaged ones, so every DDP rank uses the same coefficients; a step whose
norms are not finite (overflow under mixed precision) leaves the EMA unchanged.

Missing labels: only the present tasks' EMA entries move (``steps`` [K] counts each task's updates,
for its beta_t); alpha_k = max_{i present} n_hat_i / n_hat_k scales the present tasks as if the missing
ones did not exist, and a missing task keeps its previous coefficient (nothing divides by its zero loss).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput
from mtl_lab.weighting.per_task_state import upgrade_scalar_counters

EPS = 1e-8


@WEIGHTINGS.register("dbmtl")
class DBMTLWeighting(Weighting):
    requires = frozenset({"global_losses", "grad_norms"})

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        beta: float = 0.9,
        beta_sigma: float = 0.0,
        grad_level: str = "params",
    ) -> None:
        super().__init__(tasks, grad_level=grad_level)
        if not 0 <= float(beta) < 1:
            raise ConfigError(f"weighting.beta: must be in [0, 1), got {beta}")
        if not float(beta_sigma) >= 0:
            raise ConfigError(f"weighting.beta_sigma: must be >= 0, got {beta_sigma}")
        self.beta = float(beta)
        self.beta_sigma = float(beta_sigma)
        self.register_buffer("norm_ema", torch.zeros(self.num_tasks))
        self.register_buffer("steps", torch.zeros(self.num_tasks, dtype=torch.long))
        self.register_buffer("weights", torch.ones(self.num_tasks))
        upgrade_scalar_counters(self, ["steps"])

    @torch.no_grad()
    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        assert stats.global_losses is not None and stats.grad_norms is not None
        present = stats.present(self.num_tasks).to(self.norm_ema.device)
        shifted = stats.global_losses.detach().float() + EPS
        log_norms = stats.grad_norms.detach().float() / shifted
        if bool(torch.isfinite(torch.where(present, log_norms, 0.0)).all()):
            self.steps += present.long()
            beta = self.beta / self.steps.clamp_min(1).double() ** self.beta_sigma
            average = log_norms + beta.float() * (self.norm_ema - log_norms)
            self.norm_ema.copy_(torch.where(present, average, self.norm_ema))
        largest = torch.where(present, self.norm_ema, float("-inf")).max()
        alpha = largest / (self.norm_ema + EPS)
        self.weights.copy_(self.keep_missing(alpha / shifted, self.weights, present))
        return WeightingOutput(coefficients=self.weights.clone(), extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.weights

    def logged_values(self) -> dict[str, Tensor]:
        return {f"grad_norm_ema/{t}": self.norm_ema[i] for i, t in enumerate(self.task_names)}
