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

Missing labels: the epoch sums and step counts are per task (``epoch_steps`` [K]), so L_k(e) averages
the steps in which task k is present. A task absent for a whole epoch keeps its two last averages (and
so its ratio) and its weight; ``completed_epochs`` [K] counts the epochs in which each task had labels.
At an epoch's end the weights of the tasks present in it with two recorded averages U are
w_U = (K - sum_{k not in U} w_k) softmax(r_U / T), the others keep theirs: the weights still sum to K,
and equal the paper's when every task is present. Within an epoch a missing task's weight is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput
from mtl_lab.weighting.per_task_state import upgrade_scalar_counters

TINY = torch.finfo(torch.float32).tiny


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
        self.register_buffer("epoch_steps", torch.zeros(self.num_tasks, dtype=torch.long))
        # row 0: L(t-1), row 1: L(t-2) (each task's two last epoch averages)
        self.register_buffer("epoch_losses", torch.zeros(2, self.num_tasks))
        self.register_buffer("completed_epochs", torch.zeros(self.num_tasks, dtype=torch.long))
        upgrade_scalar_counters(self, ["epoch_steps", "completed_epochs"])

    @torch.no_grad()
    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        assert stats.global_losses is not None
        present = stats.present(self.num_tasks).to(self.weights.device)
        self.epoch_loss_sum += torch.where(present, stats.global_losses.detach().float(), 0.0)
        self.epoch_steps += present.long()
        return WeightingOutput(coefficients=self.weights.clone(), extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.weights

    @torch.no_grad()
    def on_train_epoch_end(self) -> None:
        seen = self.epoch_steps > 0
        if not bool(seen.any()):
            return
        average = self.epoch_loss_sum / self.epoch_steps.clamp_min(1)
        self.epoch_losses[1] = torch.where(seen, self.epoch_losses[0], self.epoch_losses[1])
        self.epoch_losses[0] = torch.where(seen, average, self.epoch_losses[0])
        self.completed_epochs += seen.long()
        self.epoch_loss_sum.zero_()
        self.epoch_steps.zero_()
        update = seen & (self.completed_epochs >= 2)
        if bool(update.any()):
            ratios = self.epoch_losses[0] / self.epoch_losses[1].clamp_min(TINY)
            logits = torch.where(update, ratios / self.temperature, float("-inf"))
            share = self.num_tasks - (self.weights * ~update).sum()
            self.weights.copy_(torch.where(update, share * torch.softmax(logits, dim=0), self.weights))
