"""The Lightning side of mtl-predict: :class:`Predictor` runs a loaded run's model on each batch and scores
the labelled tasks with that run's own metric objects, as ``mtl-eval`` does (the same losses, counts and
torchmetrics; under DDP they are reduced over the ranks); :class:`PredictionWriter` turns each batch's
outputs into rows (carried columns first, then the prediction columns) and writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from torch import Tensor

from mtl_lab import names
from mtl_lab.gradients import LOCAL
from mtl_lab.module import MultiTaskModule
from mtl_lab.prediction.columns import prediction_columns
from mtl_lab.prediction.files import PredictionFiles
from mtl_lab.prediction.sources import SourceBatch

#: The split whose metric objects of :class:`~mtl_lab.task_metrics.TaskMetrics` score each asked split.
METRIC_SPLIT = {"test": "test", "val": "val", "train": "test"}


class Predictor(pl.LightningModule):
    """Predicts with ``module``'s model; ``labelled_tasks`` are scored and reported under ``split``'s
    names (``<split>/<task>/<metric>``, ``<split>/<task>/loss``, and ``<split>/loss`` when every task is
    labelled), in :attr:`metrics` after the prediction, with :attr:`labelled` units per task."""

    def __init__(self, module: MultiTaskModule, labelled_tasks: Sequence[str], split: str) -> None:
        super().__init__()
        self.module = module
        self.labelled_tasks = tuple(labelled_tasks)
        self.split = split
        self.register_buffer("counts", torch.zeros(len(module.task_names)))
        self.metrics: dict[str, Tensor] = {}
        self.labelled: dict[str, int] = {}

    def predict_step(self, item: SourceBatch, batch_idx: int) -> dict[str, Tensor]:
        batch = item.batch
        if not self.labelled_tasks:
            return self.module.model(batch.inputs).predictions
        step = self.module.shared_step(batch, reduction=LOCAL)
        metrics, split = self.module.metrics, METRIC_SPLIT[self.split]
        metrics.update_eval_losses(split, step.losses.values, step.losses.counts)
        metrics.update(split, step.output.predictions, batch)
        self.counts += step.losses.counts
        return step.output.predictions

    def on_predict_epoch_end(self) -> None:
        """Compute the metrics here, on the device and with every rank still in the process group."""
        if not self.labelled_tasks:
            return
        split, task_metrics = METRIC_SPLIT[self.split], self.module.metrics
        for name, metric in task_metrics.eval_metric_objects(split).items():
            parsed = names.parse_task_metric(name)
            if parsed is not None and parsed.task in self.labelled_tasks:
                self.metrics[names.task_metric(self.split, parsed.task, parsed.metric)] = metric.compute()
        losses = task_metrics.compute_eval_losses(split)
        for task in self.labelled_tasks:
            loss = losses[names.task_metric(split, task, names.LOSS)]
            self.metrics[names.task_metric(self.split, task, names.LOSS)] = loss
        if set(self.labelled_tasks) == set(self.module.task_names):
            self.metrics[names.split_loss(self.split)] = losses[names.split_loss(split)]
        counts = self.trainer.strategy.reduce(self.counts, reduce_op="sum")
        self.labelled = {
            task: int(count) for task, count in zip(self.module.task_names, counts.tolist(), strict=True)
        }


class PredictionWriter(Callback):
    """Writes every predicted batch's rows to ``files`` as it comes."""

    def __init__(self, files: PredictionFiles, probabilities: bool) -> None:
        self.files = files
        self.probabilities = probabilities

    def on_predict_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        assert isinstance(pl_module, Predictor) and isinstance(batch, SourceBatch)
        columns = prediction_columns(pl_module.module.tasks, outputs, self.probabilities, batch.words)
        carried = batch.carry
        if carried is not None:
            columns = {c: carried.column(c).combine_chunks() for c in carried.column_names} | columns
        self.files.write(pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns)))
