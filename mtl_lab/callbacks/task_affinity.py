"""Task affinity: how the tasks' gradients align during training (do they help or fight each other?).

Every ``every_n_steps`` optimizer steps (from step 0), inside the training step's ``on_before_backward``
while the step's graph still exists, the callback asks the module for the K x K Gramian G of the
per-task gradients at ``grad_level`` (:meth:`MultiTaskModule.task_gramian`: small ``autograd.grad``
passes that never touch ``.grad`` or the RNG, so training is unchanged) and turns it into cosines

    cos_ij = G_ij / sqrt(G_ii G_jj)      (0 where a gradient norm is 0; 1 on the diagonal otherwise)

``grad_level``: ``last_shared_layer`` (default: the parameters of the last shared layer, GradNorm's W;
parameter gradients are what the optimizer follows, summed over the batch before they are compared, and
they cost little more than the representation), ``representation`` (the shared features, one cheap pass
per task; aligns per-sample feature gradients) or ``params`` (all shared parameters: exact, a backward
through the whole trunk per task).

Outputs: every measurement goes straight to every logger (CSV/TensorBoard/W&B, whatever
``log_every_n_steps`` says) as ``train/affinity/<task_i>/<task_j>`` for each pair i < j in the module's
task order (the matrix is symmetric with a unit diagonal); the mean matrix over all measurements is
drawn as an annotated heatmap in ``<run dir>/task_affinity.png`` (rank 0, at the end of training, also
after a divergence) and written to ``summary.json`` as ``task_affinity``: {"tasks", "matrix", "steps",
"grad_level"}. Under DDP the Gramian is already averaged over ranks, so every rank measures at the same
steps (it is a collective) and keeps the same mean. A measurement whose Gramian is not finite (fp16
overflow) is skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from torch import Tensor

from mtl_lab import names
from mtl_lab.callbacks.heatmap import save_task_heatmap
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.gradients import GRAD_LEVELS
from mtl_lab.module import MultiTaskModule

PLOT_FILE = "task_affinity.png"
SUMMARY_FIELD = "task_affinity"


def cosine_matrix(gramian: Tensor) -> Tensor:
    """cos_ij = G_ij / sqrt(G_ii G_jj), 0 where G_ii or G_jj is 0, clamped to [-1, 1]."""
    norms = gramian.diagonal().clamp_min(0).sqrt()
    denominator = norms[:, None] * norms[None, :]
    cosines = torch.where(
        denominator > 0, gramian / denominator.clamp_min(torch.finfo(gramian.dtype).tiny), 0
    )
    return cosines.clamp(-1.0, 1.0)


def affinity_metric_names(tasks: list[str]) -> list[tuple[int, int, str]]:
    """(i, j, logged name) for every pair i < j in ``tasks`` order."""
    return [
        (i, j, names.affinity(tasks[i], tasks[j]))
        for i in range(len(tasks))
        for j in range(i + 1, len(tasks))
    ]


class TaskAffinity(Callback):
    """Cosine matrix of the task gradients every ``every_n_steps`` steps (see the module docstring).

    ``plot_path``: where the heatmap goes (None: ``<trainer.default_root_dir>/task_affinity.png``).
    Needs a :class:`mtl_lab.module.MultiTaskModule`.
    """

    def __init__(
        self, every_n_steps: int = 10, grad_level: str = "last_shared_layer", plot_path: str | None = None
    ) -> None:
        if isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int) or every_n_steps < 1:
            raise ConfigError(f"task_affinity.every_n_steps: must be an integer >= 1, got {every_n_steps!r}")
        if grad_level not in GRAD_LEVELS:
            raise unknown_choice("task_affinity.grad_level", grad_level, GRAD_LEVELS, "gradient level")
        self.every_n_steps = every_n_steps
        self.grad_level = grad_level
        self.plot_path = plot_path
        self.tasks: list[str] = []
        self.steps = 0
        self._sum: Tensor | None = None
        self._last_measured = -1

    @property
    def mean(self) -> Tensor | None:
        """Mean cosine matrix over the measurements so far (float64, [K, K]); None before the first."""
        return None if self._sum is None or self.steps == 0 else self._sum / self.steps

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not isinstance(pl_module, MultiTaskModule):
            raise TypeError(f"TaskAffinity needs a MultiTaskModule, got {type(pl_module).__name__}")
        self.tasks = list(pl_module.task_names)

    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: Tensor) -> None:
        step = getattr(pl_module, "current_step", None)
        global_step = trainer.global_step
        if step is None or global_step % self.every_n_steps or global_step == self._last_measured:
            return
        self._last_measured = global_step  # with gradient accumulation: the first micro-batch only
        gramian = pl_module.task_gramian(step, level=self.grad_level).detach()
        if not bool(torch.isfinite(gramian).all()):
            return
        cosines = cosine_matrix(gramian.double()).cpu()
        self._sum = cosines if self._sum is None else self._sum + cosines
        self.steps += 1
        values = {name: float(cosines[i, j]) for i, j, name in affinity_metric_names(self.tasks)}
        for logger in trainer.loggers:
            logger.log_metrics(values, step=global_step)

    def _plot(self, trainer: pl.Trainer) -> None:
        mean = self.mean
        if mean is None or not trainer.is_global_zero:
            return
        path = self.plot_path or Path(trainer.default_root_dir) / PLOT_FILE
        title = f"task gradient cosine ({self.grad_level}), mean of {self.steps} steps"
        save_task_heatmap(mean, self.tasks, path, title, cmap="RdBu_r", limits=(-1.0, 1.0), label="cosine")

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._plot(trainer)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._plot(trainer)  # a diverged or interrupted run keeps the plot of what it measured

    def summary_fields(self) -> dict[str, Any]:
        if not self.tasks:
            return {}
        mean = self.mean
        return {
            SUMMARY_FIELD: {
                "tasks": self.tasks,
                "matrix": None if mean is None else [[float(v) for v in row] for row in mean],
                "steps": self.steps,
                "grad_level": self.grad_level,
            }
        }
