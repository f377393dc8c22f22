"""Test plug-ins about labels under DDP, loaded by dotted path
(``+callbacks.labels._target_=label_plugins.LabelsOnRankZeroOnly``,
``+callbacks.tasks._target_=label_plugins.LabelledTasksRecorder``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback


class LabelledTasksRecorder(Callback):
    """Records, at every training step, which tasks have labels in the batch (one bool per task, in the
    module's task order) on every rank (all-gathered): ``steps[i][rank][k]``, the epoch of each step in
    ``epochs``; rank 0 writes ``labelled_tasks.json`` (with ``world_size`` and ``task_names``)."""

    def __init__(self) -> None:
        self.steps: list[list[list[bool]]] = []
        self.epochs: list[int] = []

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        present = []
        for task in pl_module.task_names:
            mask = batch.masks.get(task)
            present.append(task in batch.targets and (mask is None or bool(mask.any())))
        gathered = pl_module.all_gather(torch.tensor(present, dtype=torch.int32, device=pl_module.device))
        rows = gathered.reshape(-1, len(present)).tolist()  # [world, K] (one process: [1, K])
        self.steps.append([[bool(v) for v in row] for row in rows])
        self.epochs.append(trainer.current_epoch)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            report = {
                "world_size": trainer.world_size,
                "task_names": list(pl_module.task_names),
                "steps": self.steps,
                "epochs": self.epochs,
            }
            Path(trainer.default_root_dir, "labelled_tasks.json").write_text(json.dumps(report))


class LabelsOnRankZeroOnly(Callback):
    """Task ``task`` is labelled on rank 0 only: at every training and validation batch its mask is set,
    on BOTH ranks, to all-True on rank 0 and all-False on the others. Writes ``rank_labels.json``: per
    training step, the task's local labelled count on each rank and the global count (``losses.counts``)
    each rank saw."""

    def __init__(self, task: str) -> None:
        self.task = task
        self.local: list[list[float]] = []
        self.seen: list[list[float]] = []

    def _mask(self, trainer: pl.Trainer, batch: Any) -> None:
        target = batch.targets[self.task]
        labelled = trainer.global_rank == 0
        batch.masks[self.task] = torch.full(
            target.shape[:1], labelled, dtype=torch.bool, device=target.device
        )

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._mask(trainer, batch)

    def on_validation_batch_start(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._mask(trainer, batch)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        index = pl_module.task_names.index(self.task)
        local = batch.masks[self.task].sum().float()
        seen = pl_module.current_step.losses.counts[index].float()
        self.local.append(pl_module.all_gather(local).tolist())
        self.seen.append(pl_module.all_gather(seen).tolist())

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            report = {"task": self.task, "local": self.local, "seen": self.seen}
            Path(trainer.default_root_dir, "rank_labels.json").write_text(json.dumps(report))
