"""Dynamic Weight Average: Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention",
CVPR 2019.

The weights of epoch t follow the rate at which each task's loss fell over the two previous epochs:

    r_k(t-1) = L_k(t-1) / L_k(t-2),    w_k(t) = K exp(r_k(t-1) / T) / sum_i exp(r_i(t-1) / T)

where L_k(e) is task k's training loss averaged over the steps of epoch e, K the number of tasks and
T the temperature (``temperature``, 2 in the paper). w_k = 1 for the first two epochs. The weights sum
to K and are constant within an epoch; a task whose loss falls more slowly gets more weight.

The epoch averages are taken over the rank-averaged losses (``global_losses``), so every DDP rank
decides the same weights. The running epoch sum, the last two epoch averages and the weights are
buffers: they are saved in checkpoints, and a run resumed mid-epoch continues the same average.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput


@WEIGHTINGS.register("dwa")
class DWAWeighting(Weighting):
    requires = frozenset({"global_losses"})
    normalization = "sum_to_num_tasks"

    def __init__(self, tasks: Mapping[str, TaskSpec], temperature: float = 2.0) -> None:
        super().__init__(tasks)
        if not float(temperature) > 0:
            raise ConfigError(f"weighting.temperature: must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.register_buffer("weights", torch.ones(self.num_tasks))
        self.register_buffer("epoch_loss_sum", torch.zeros(self.num_tasks))
        self.register_buffer("epoch_steps", torch.zeros((), dtype=torch.long))
        # row 0: L(t-1), row 1: L(t-2) (epoch averages of the two last completed epochs)
        self.register_buffer("epoch_losses", torch.zeros(2, self.num_tasks))
        self.register_buffer("completed_epochs", torch.zeros((), dtype=torch.long))

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        assert stats.global_losses is not None
        self.epoch_loss_sum += stats.global_losses.detach().float()
        self.epoch_steps += 1
        return WeightingOutput(coefficients=self.weights.clone(), extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.weights

    @torch.no_grad()
    def on_train_epoch_end(self) -> None:
        if int(self.epoch_steps) == 0:
            return
        self.epoch_losses[1] = self.epoch_losses[0]
        self.epoch_losses[0] = self.epoch_loss_sum / self.epoch_steps
        self.completed_epochs += 1
        self.epoch_loss_sum.zero_()
        self.epoch_steps.zero_()
        if int(self.completed_epochs) >= 2:
            ratios = self.epoch_losses[0] / self.epoch_losses[1].clamp_min(torch.finfo(torch.float32).tiny)
            self.weights.copy_(self.num_tasks * torch.softmax(ratios / self.temperature, dim=0))
