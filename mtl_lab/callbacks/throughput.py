"""Training throughput: samples per second of training-loop time (data loading and steps included,
validation excluded), counted over all ranks."""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback


class TrainThroughput(Callback):
    def __init__(self) -> None:
        self.samples = 0
        self.seconds = 0.0
        self._mark: float | None = None

    @property
    def samples_per_s(self) -> float | None:
        return self.samples / self.seconds if self.seconds > 0 else None

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._mark = time.perf_counter()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._mark is not None:
            self._mark = time.perf_counter()  # validation time does not count

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        now = time.perf_counter()
        if self._mark is not None:
            self.seconds += now - self._mark
        self._mark = now
        self.samples += batch.size * trainer.world_size

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._mark = None
