"""Task attention map: how much each task's token attends to each task's token, per validation epoch.

Added to the trainer by the ``task_attention`` architecture (:meth:`Architecture.callbacks`). After every
validation batch it reads the architecture's ``latest_attention`` A_b (the last attention layer's
weights averaged over the batch's samples and the heads, [K, K]) and its batch size n_b, and at the end of
the validation epoch (sanity checks excluded) forms the sample-weighted mean over every rank's batches

    A = sum_b n_b A_b / sum_b n_b        rows: query tasks, columns: key tasks; each row sums to 1

(the sums are added over DDP ranks first, so every rank keeps the same A).

Outputs: A goes to every logger at each validation epoch's end as ``task_attention/<query>/<key>``
(no clash with the ``<split>/...`` names of :mod:`mtl_lab.names`); the last epoch's A is drawn as an
annotated heatmap in ``<trainer.default_root_dir>/task_attention.png`` (rank 0, at the end of fit, also
after a divergence) and written to ``summary.json`` as ``task_attention``: {query: {key: weight}}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from torch import Tensor

from mtl_lab import names
from mtl_lab.callbacks.heatmap import save_task_heatmap

PLOT_FILE = "task_attention.png"
SUMMARY_FIELD = "task_attention"


class AttentionSource(Protocol):
    """What the callback reads after each forward (see ``TaskAttentionArchitecture``)."""

    tasks: list[str]
    latest_attention: Tensor | None
    latest_samples: int


class TaskAttentionMap(Callback):
    """Sample-weighted mean of ``source``'s attention over each validation epoch (see the module
    docstring). :attr:`matrix`: the mean of the last validation epoch (:attr:`epoch`), [K, K] float64;
    None before the first."""

    def __init__(self, source: AttentionSource) -> None:
        self.source = source
        self.matrix: Tensor | None = None
        self.epoch: int | None = None
        self._sum: Tensor | None = None
        self._samples: Tensor | None = None

    @property
    def tasks(self) -> list[str]:
        return list(self.source.tasks)

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        k = len(self.source.tasks)
        self._sum = torch.zeros(k, k, dtype=torch.float64, device=pl_module.device)
        self._samples = torch.zeros((), dtype=torch.float64, device=pl_module.device)

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        attention = self.source.latest_attention
        if trainer.sanity_checking or attention is None or self._sum is None or self._samples is None:
            return
        n = self.source.latest_samples
        self._sum += n * attention.to(self._sum)
        self._samples += n

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self._sum is None or self._samples is None:
            return
        total, samples = self._sum, self._samples
        if trainer.world_size > 1:  # a collective: every rank reaches it, with its (possibly zero) sums
            total = trainer.strategy.reduce(total.clone(), reduce_op="sum")
            samples = trainer.strategy.reduce(samples.clone(), reduce_op="sum")
        if float(samples) <= 0:
            return
        self.matrix = (total / samples).cpu()
        self.epoch = trainer.current_epoch
        tasks = self.tasks
        values = {
            names.task_attention(q, k): float(self.matrix[i, j])
            for i, q in enumerate(tasks)
            for j, k in enumerate(tasks)
        }
        for logger in trainer.loggers:
            logger.log_metrics(values, step=trainer.global_step)

    def _plot(self, trainer: pl.Trainer) -> None:
        if self.matrix is None or not trainer.is_global_zero:
            return
        title = f"task attention (last layer)\nvalidation mean, epoch {self.epoch}"
        save_task_heatmap(
            self.matrix,
            self.tasks,
            Path(trainer.default_root_dir) / PLOT_FILE,
            title,
            cmap="viridis",
            limits=(0.0, 1.0),
            label="attention weight",
            axis_labels=("key task", "query task"),
        )

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._plot(trainer)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._plot(trainer)  # a diverged or interrupted run keeps the map of its last validation

    def summary_fields(self) -> dict[str, Any]:
        if self.matrix is None:
            return {}
        tasks = self.tasks
        return {
            SUMMARY_FIELD: {
                q: {k: float(self.matrix[i, j]) for j, k in enumerate(tasks)} for i, q in enumerate(tasks)
            }
        }
