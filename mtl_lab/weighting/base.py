"""Weighting contract (DESIGN.md, "One training step").

A weighting turns the per-task losses ``L`` (a tensor of shape [K], tasks in the module's order) and
the statistics it declared in :attr:`Weighting.requires` into

- ``coefficients`` c (shape [K], detached): the module backpropagates ``sum_k c_k L_k + extra`` once;
- ``extra``: the strategy's own scalar term (0 for most). Learnable state (log-variances, GradNorm
  weights) gets its gradient only through this term, inside that one backward, so DDP averages it
  like any other parameter and every rank keeps identical state.

Statistics a strategy may ask for (:class:`mtl_lab.gradients.GradientStats`, computed by the module only
when asked, already reduced across DDP ranks so that every rank sees the same values):

- ``counts`` (always given): the labelled units of each task in the step, summed over ranks;
- ``global_losses``: the detached losses averaged over ranks;
- ``grad_norms``: per-task gradient norms at :attr:`Weighting.grad_level`;
- ``gramian``: the K x K Gramian of per-task gradients at :attr:`Weighting.grad_level`.

Gradient levels (:mod:`mtl_lab.gradients`): ``last_shared_layer`` (the encoder's last layer parameters),
``params`` (all shared parameters, exact), ``representation`` (the shared features, cheap).

Missing labels: a task whose count is 0 in a step has a zero loss that is not a real loss value. Every
strategy keeps its state for that task (its statistics, EMAs, learned weight) and keeps its previous
coefficient, which multiplies that zero loss. :meth:`Weighting.keep_missing` applies the last rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mtl_lab.errors import unknown_choice
from mtl_lab.gradients import GRAD_LEVELS, GradientStats
from mtl_lab.registry import Registry
from mtl_lab.tasks import TaskSpec

WEIGHTINGS: Registry[Weighting] = Registry("weighting")


@dataclass
class WeightingOutput:
    coefficients: Tensor
    extra: Tensor


class Weighting(nn.Module):
    """Base class. Subclasses set :attr:`requires` and implement :meth:`forward`."""

    requires: ClassVar[frozenset[str]] = frozenset()
    #: What the coefficients always satisfy, checked by the contract tests: ``"sum_to_one"``,
    #: ``"sum_to_num_tasks"`` (sum_k c_k = K) or ``"none"`` (no fixed normalisation).
    normalization: ClassVar[str] = "none"
    #: Relabelling the tasks (permuting losses and statistics) permutes the coefficients the same way.
    #: False for strategies that draw random numbers or keep order-dependent state.
    permutation_invariant: ClassVar[bool] = True
    #: Every coefficient is >= 0 (False for e.g. IMTL-G and Aligned-MTL, whose weights can be negative).
    nonnegative: ClassVar[bool] = True
    #: The method balances every task's gradient in every step (GradNorm, the Gramian family): refused
    #: before training with data that gives one task per step (``data.mode=sample``).
    needs_all_tasks: ClassVar[bool] = False

    def __init__(self, tasks: Mapping[str, TaskSpec], grad_level: str = "last_shared_layer") -> None:
        super().__init__()
        if grad_level not in GRAD_LEVELS:
            raise unknown_choice("weighting.grad_level", grad_level, GRAD_LEVELS, "gradient level")
        self.task_names = list(tasks)
        self.task_specs = dict(tasks)
        self.grad_level = grad_level

    @property
    def num_tasks(self) -> int:
        return len(self.task_names)

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        raise NotImplementedError

    def current_coefficients(self) -> Tensor:
        """Coefficients the strategy would use now (for logging and summaries), shape [K]."""
        raise NotImplementedError

    def logged_values(self) -> dict[str, Tensor]:
        """Extra per-step values to log under ``train/``, e.g. ``{"log_var/left": s_left}``."""
        return {}

    def param_groups(self, base_lr: float) -> list[dict[str, Any]]:
        """Optimizer parameter groups for the strategy's learnable state (own lr, no weight decay)."""
        return []

    def on_after_optimizer_step(self) -> None:
        """Hook run after every optimizer step (e.g. GradNorm's renormalisation)."""

    def on_train_epoch_end(self) -> None:
        """Hook run at the end of every training epoch (e.g. DWA's epoch-averaged losses)."""

    @staticmethod
    def zero_extra(reference: Tensor) -> Tensor:
        return torch.zeros((), dtype=torch.float32, device=reference.device)

    @staticmethod
    def keep_missing(new: Tensor, previous: Tensor, present: Tensor) -> Tensor:
        """``new`` for the tasks with labels in this step, ``previous`` for the others ([K] or [K, ...])."""
        mask = present.reshape(-1, *([1] * (new.dim() - 1)))
        return torch.where(mask.to(new.device), new, previous.to(new.dtype))
