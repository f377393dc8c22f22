"""Per-task metrics of every split, and the labelled-count weighted val/test losses.

- Metrics (torchmetrics, from each task's kind) are updated with the labelled units only, as the kind
  selects them (:meth:`mtl_lab.tasks.TaskKind.select_labelled`: flattened units, or whole sentences).
- Train metrics are updated every step and computed once per epoch (:meth:`TaskMetrics.compute_train`);
  val/test metrics are logged as Metric objects that Lightning computes at the epoch's end
  (:meth:`TaskMetrics.eval_metric_objects`: every task's, in every batch, so that every DDP rank computes
  every task's metric even where a rank saw no label of it: the computation is a collective).
- A val/test task loss is the mean over the epoch's labelled units: per batch the masked mean, weighted
  by its labelled count (:class:`torchmetrics.MeanMetric`), so a batch without labels of a task does not
  count as a zero loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, Metric

from mtl_lab import names
from mtl_lab.batch import Batch
from mtl_lab.tasks import TaskSpec


class TaskMetrics(nn.Module):
    def __init__(self, tasks: Mapping[str, TaskSpec]) -> None:
        super().__init__()
        self.tasks = dict(tasks)
        self.task_names = list(tasks)
        self.train_metrics = self._collection()
        self.val_metrics = self._collection()
        self.test_metrics = self._collection()
        #: by split (a ModuleDict cannot hold the key "train": nn.Module.train exists)
        self.collections = {"train": self.train_metrics, "val": self.val_metrics, "test": self.test_metrics}
        self.val_losses = nn.ModuleDict({t: MeanMetric() for t in self.task_names})
        self.test_losses = nn.ModuleDict({t: MeanMetric() for t in self.task_names})
        self.eval_losses = {"val": self.val_losses, "test": self.test_losses}
        self._train_updated: set[str] = set()

    def _collection(self) -> nn.ModuleDict:
        return nn.ModuleDict({t: spec.make_metrics() for t, spec in self.tasks.items()})

    def update(self, split: str, predictions: Mapping[str, Tensor], batch: Batch) -> None:
        """Update ``split``'s metrics with the labelled units of every task that has labels in the batch."""
        for task in self.task_names:
            target = batch.targets.get(task)
            if target is None:
                continue
            spec = self.tasks[task]
            selected = spec.select_labelled(predictions[task], target, batch.labelled(task))
            if selected is None:
                continue
            self.collections[split][task].update(*spec.metric_inputs(*selected))
            if split == "train":
                self._train_updated.add(task)

    def compute_train(self, any_rank: Callable[[list[bool]], list[bool]] | None = None) -> dict[str, Tensor]:
        """The epoch's train metrics by logged name, then reset. ``any_rank`` turns this rank's "updated"
        flags into "updated on some rank" (DDP), so every rank computes the same tasks' metrics."""
        updated = [t in self._train_updated for t in self.task_names]
        if any_rank is not None:
            updated = any_rank(updated)
        values = {}
        for task in [t for t, u in zip(self.task_names, updated, strict=True) if u]:
            collection = self.collections["train"][task]
            for metric, value in collection.compute().items():
                values[names.task_metric("train", task, metric)] = value
            collection.reset()
        self._train_updated.clear()
        return values

    def train_state(self, any_rank: Callable[[list[bool]], list[bool]] | None = None) -> dict[str, Any]:
        """The epoch's train-metric accumulators so far, for a checkpoint: a run resumed mid-epoch
        computes the same epoch values. Under DDP (``any_rank`` as in :meth:`compute_train`; a
        collective: call it on every rank) the accumulators of every rank, reduced."""
        updated = [t in self._train_updated for t in self.task_names]
        if any_rank is not None:
            updated = any_rank(updated)
        metrics = {}
        for task, collection in self.train_metrics.items():
            for name, metric in collection.items(keep_base=True, copy_state=False):
                with metric.sync_context(should_sync=any_rank is not None):
                    state = dict(metric.metric_state)
                metrics[f"{task}/{name}"] = {"state": state, "updates": metric.update_count}
        return {
            "updated": [t for t, u in zip(self.task_names, updated, strict=True) if u],
            "metrics": metrics,
        }

    def load_train_state(self, state: Mapping[str, Any]) -> None:
        """Continue the epoch's train metrics from :meth:`train_state` (under DDP on one rank only: the
        others start empty, and the epoch's reduction adds them up)."""
        self._train_updated = set(state["updated"])
        for task, collection in self.train_metrics.items():
            for name, metric in collection.items(keep_base=True, copy_state=False):
                saved = state["metrics"][f"{task}/{name}"]
                for key, value in saved["state"].items():
                    setattr(metric, key, value)
                metric._update_count = saved["updates"]
                metric._computed = None

    def eval_metric_objects(self, split: str) -> dict[str, Metric]:
        """Every task's ``split`` metric objects by logged name (Lightning computes them at epoch end)."""
        return {
            names.task_metric(split, task, metric): obj
            for task in self.task_names
            for metric, obj in self.collections[split][task].items()
        }

    def update_eval_losses(self, split: str, losses: Tensor, counts: Tensor) -> None:
        for i, task in enumerate(self.task_names):
            self.eval_losses[split][task].update(losses[i].detach(), counts[i])

    def compute_eval_losses(self, split: str) -> dict[str, Tensor]:
        """``<split>/<task>/loss`` of the epoch (and their sum, ``<split>/loss``), then reset."""
        values = {}
        for task, mean in self.eval_losses[split].items():
            values[names.task_metric(split, task, names.LOSS)] = mean.compute()
            mean.reset()
        values[names.split_loss(split)] = torch.stack(list(values.values())).sum()
        return values


def flags_on_any_rank(reduce_sum: Callable[[Tensor], Tensor], device: torch.device) -> Callable:
    """``any_rank`` for :meth:`TaskMetrics.compute_train` from a sum over ranks (one all-reduce of K)."""

    def any_rank(flags: Sequence[bool]) -> list[bool]:
        summed = reduce_sum(torch.tensor(list(flags), dtype=torch.float32, device=device))
        return [bool(v > 0) for v in summed.tolist()]

    return any_rank
