"""FAMO: Liu, Liu, Jin, Stone & Liu, "FAMO: Fast Adaptive Multitask Optimization", NeurIPS 2023
(official code: github.com/Cranial-XIX/FAMO).

FAMO keeps logits xi (one per task, initialised to 0), z = softmax(xi), and descends the weighted
log-losses: with D_k = L_k - min_k + 1e-8 (min_k a known lower bound of L_k, 0 by default),

    objective = sum_k (z_k / s) log D_k,    s = sum_k z_k / D_k  (held constant)

whose gradient is that of sum_k c_k L_k with the coefficients c_k = (z_k / D_k) / s (they sum to 1).
After each model step the logits move so that the tasks' log-losses decrease at equal rates:

    delta_k = log D_k(t) - log D_k(t+1),    xi <- Adam(xi, grad = J_z(xi)^T delta)

with J_z = diag(z) - z z^T the Jacobian of the softmax, Adam's learning rate ``lr`` (0.025) and its
L2 weight decay ``weight_decay`` (gamma, 1e-3 as in LibMTL's FAMO; the official famo.py defaults to
0.01), Adam's betas (0.9, 0.999) and eps 1e-8. ``min_losses: {task: value}`` sets min_k (default 0).

Deviations from the official implementation, both to keep one forward and one backward per step:

- L(t+1) is the loss of the *next* training step (a new batch) rather than a second forward pass
  on the same batch after the model update. At step t+1 the logits are first updated with
  delta = log D(t) - log D(t+1), then give the coefficients of step t+1 — the paper's order.
- D uses the rank-averaged losses (``global_losses``), so the coefficients and the logit update are
  identical on every DDP rank and the backpropagated gradient is that of sum_k (z_k/s) log D_k of the
  global losses. D is clamped at 1e-8 should a loss fall below its min_k.

The logits and their Adam moments are buffers updated here (not by the model's optimizer, which may
not be Adam), so they are saved in checkpoints and restored with the model. A step whose losses are
not finite leaves them unchanged.

Missing labels: the coefficients are those of the objective over the present tasks P,
c_k = (z_k / D_k) / sum_{i in P} z_i / D_i (they sum to one over P); a missing task keeps its previous
coefficient. The previous log-losses are kept per task (``previous_log_losses``, ``has_previous`` [K]),
and the logit update runs over S, the tasks present now and at their previous recorded step: the softmax
and its Jacobian over S only, delta_S from each task's own previous log-loss, and one Adam step on
xi_S only (the Adam moments and step counts ``adam_steps`` [K] are per task, those outside S untouched).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput
from mtl_lab.weighting.per_task_state import upgrade_scalar_counters

EPS = 1e-8
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def softmax_vjp(logits: Tensor, vector: Tensor, subset: Tensor | None = None) -> Tensor:
    """J_z(xi)^T v for z = softmax(xi): z * (v - <z, v>); with ``subset`` (bool [K]) the softmax over the
    subset's entries only (0 outside it)."""
    if subset is not None:
        logits = torch.where(subset, logits, float("-inf"))
        vector = torch.where(subset, vector, 0.0)
    z = torch.softmax(logits, dim=0)
    return z * (vector - (z * vector).sum())


@WEIGHTINGS.register("famo")
class FAMOWeighting(Weighting):
    requires = frozenset({"global_losses"})
    normalization = "sum_to_one"

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        lr: float = 0.025,
        weight_decay: float = 1e-3,
        min_losses: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(tasks)
        if not float(lr) > 0:
            raise ConfigError(f"weighting.lr: must be > 0, got {lr}")
        if not float(weight_decay) >= 0:
            raise ConfigError(f"weighting.weight_decay: must be >= 0, got {weight_decay}")
        minimum = dict(min_losses or {})
        for task, value in minimum.items():
            if task not in tasks:
                raise unknown_choice("weighting.min_losses", task, tasks, "task (not a selected task)")
            if not math.isfinite(float(value)):
                raise ConfigError(f"weighting.min_losses.{task}: must be a finite number, got {value}")
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        bounds = [float(minimum.get(t, 0.0)) for t in self.task_names]
        self.register_buffer("min_losses", torch.tensor(bounds))
        self.register_buffer("logits", torch.zeros(self.num_tasks))
        self.register_buffer("adam_exp_avg", torch.zeros(self.num_tasks))
        self.register_buffer("adam_exp_avg_sq", torch.zeros(self.num_tasks))
        self.register_buffer("adam_steps", torch.zeros(self.num_tasks, dtype=torch.long))
        self.register_buffer("previous_log_losses", torch.zeros(self.num_tasks))
        self.register_buffer("has_previous", torch.zeros(self.num_tasks, dtype=torch.bool))
        self.register_buffer("weights", torch.full((self.num_tasks,), 1.0 / self.num_tasks))
        upgrade_scalar_counters(self, ["adam_steps", "has_previous"])

    def _adam_step(self, gradient: Tensor, subset: Tensor) -> None:
        """One step of ``torch.optim.Adam`` (L2 weight decay added to the gradient) on the logits of
        ``subset`` (bool [K]), each with its own moments and step count."""
        beta1, beta2 = ADAM_BETAS
        gradient = gradient + self.weight_decay * self.logits
        self.adam_steps += subset.long()
        steps = self.adam_steps.clamp_min(1).double()
        exp_avg = self.adam_exp_avg * beta1 + gradient * (1 - beta1)
        exp_avg_sq = self.adam_exp_avg_sq * beta2 + gradient * gradient * (1 - beta2)
        correction1 = (1 - beta1**steps).float()
        correction2 = (1 - beta2**steps).float()
        denominator = (exp_avg_sq / correction2).sqrt() + ADAM_EPS
        logits = self.logits - self.lr / correction1 * exp_avg / denominator
        self.adam_exp_avg.copy_(torch.where(subset, exp_avg, self.adam_exp_avg))
        self.adam_exp_avg_sq.copy_(torch.where(subset, exp_avg_sq, self.adam_exp_avg_sq))
        self.logits.copy_(torch.where(subset, logits, self.logits))

    @torch.no_grad()
    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        assert stats.global_losses is not None
        present = stats.present(self.num_tasks).to(self.logits.device)
        shifted = (stats.global_losses.detach().float() - self.min_losses).clamp_min(0) + EPS
        log_losses = shifted.log()
        if bool(torch.isfinite(torch.where(present, log_losses, 0.0)).all()):
            update = present & self.has_previous
            if bool(update.any()):
                delta = self.previous_log_losses - log_losses
                self._adam_step(softmax_vjp(self.logits, delta, update), update)
            self.previous_log_losses.copy_(torch.where(present, log_losses, self.previous_log_losses))
            self.has_previous |= present
        ratios = torch.where(present, torch.softmax(self.logits, dim=0) / shifted, 0.0)
        self.weights.copy_(self.keep_missing(ratios / ratios.sum(), self.weights, present))
        return WeightingOutput(coefficients=self.weights.clone(), extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.weights

    def logged_values(self) -> dict[str, Tensor]:
        return {f"famo_logit/{t}": self.logits[i] for i, t in enumerate(self.task_names)}
