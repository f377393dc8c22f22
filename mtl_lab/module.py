"""MultiTaskModule: the training step of DESIGN.md as a LightningModule.

    features = architecture(x); predictions = heads[t](features[t]); L_t = tasks[t].loss(...)
    stats    = only what the weighting declared (global losses, per-task gradient norms / Gramian)
    c, extra = weighting(L, stats)            (c detached)
    objective = sum_t c_t L_t + extra          -> returned to Lightning: ONE backward per step

Statistics come from small ``torch.autograd.grad`` passes that stop at the shared representation or
the shared parameters; they never touch ``.grad``. Under DDP they are averaged over ranks before use;
under mixed precision with a grad scaler they are measured on the scaled loss and unscaled.

Logged names: ``<split>/<task>/loss``, ``<split>/loss`` (sum of the unweighted task losses, comparable
across strategies), ``<split>/<task>/<metric>``, ``train/objective`` (what is backpropagated),
``train/weight/<task>`` (coefficients) and the strategy's own values (``train/log_var/<task>``).
Per-step train values are logged on the steps Lightning writes to the loggers (every
``log_every_n_steps``) and on the last step of an epoch or of training; train metrics are updated every
step and computed once per epoch, at its last step (val/test metrics are logged as Metric objects).
``current_step`` holds the training step's losses and features until the batch ends, for callbacks
that measure gradients in ``on_before_backward`` (e.g. :class:`mtl_lab.callbacks.TaskAffinity`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from mtl_lab.errors import DivergenceError, unknown_choice
from mtl_lab.models.architectures import Architecture, Features
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import GradientStats, Weighting
from mtl_lab.weighting.base import GRAD_LEVELS

OptimizerFactory = Callable[..., Optimizer]
SchedulerFactory = Callable[[Optimizer], Any]


@dataclass
class StepOutput:
    predictions: dict[str, Tensor]
    losses: Tensor  # [K], task order of the module
    features: Features
    #: The K scalar losses before stacking: a gradient of ``task_losses[k]`` goes through task k's branch
    #: only, one of ``losses[k]`` through every task's (the stack's backward feeds them all zeros).
    task_losses: list[Tensor] = field(default_factory=list)


class MultiTaskModule(pl.LightningModule):
    """Architecture + one head per task + a weighting strategy, trained with one backward per step.

    ``optimizer`` is a factory taking ``params`` (Hydra ``_partial_: true``); ``scheduler`` an optional
    factory taking the optimizer, stepped every ``scheduler_interval`` (``epoch`` or ``step``).
    """

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        architecture: Architecture,
        heads: Mapping[str, nn.Module],
        weighting: Weighting,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
    ) -> None:
        super().__init__()
        self.tasks = dict(tasks)
        self.task_names = list(tasks)
        self.architecture = architecture
        self.heads = nn.ModuleDict(dict(heads))
        self.weighting = weighting
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.train_metrics = nn.ModuleDict({t: s.make_metrics() for t, s in self.tasks.items()})
        self.val_metrics = nn.ModuleDict({t: s.make_metrics() for t, s in self.tasks.items()})
        self.test_metrics = nn.ModuleDict({t: s.make_metrics() for t, s in self.tasks.items()})
        #: The training step in progress (losses and features with their graph), from ``training_step``
        #: until the end of the batch, so callbacks can measure gradients in ``on_before_backward``.
        self.current_step: StepOutput | None = None
        self._train_metrics_updated: set[str] = set()

    # ----------------------------------------------------------------------------- forward and losses
    def forward(self, inputs: Tensor) -> dict[str, Tensor]:
        features = self.architecture(inputs)
        return {t: self.heads[t](features.per_task[t]) for t in self.task_names}

    def shared_step(self, batch: Mapping[str, Any]) -> StepOutput:
        features = self.architecture(batch["inputs"])
        predictions = {t: self.heads[t](features.per_task[t]) for t in self.task_names}
        masks = batch.get("masks") or {}
        task_losses = [
            self.tasks[t].compute_loss(predictions[t], batch["targets"][t], masks.get(t))
            for t in self.task_names
        ]
        return StepOutput(
            predictions=predictions,
            losses=torch.stack(task_losses),
            features=features,
            task_losses=task_losses,
        )

    # ----------------------------------------------------------------------------- statistics
    def _distributed(self) -> bool:
        return self._trainer is not None and self.trainer.world_size > 1

    def _reduce_mean(self, value: Tensor) -> Tensor:
        if not self._distributed():
            return value
        return self.trainer.strategy.reduce(value.detach().clone(), reduce_op="mean")

    def _loss_scale(self) -> float:
        if self._trainer is None:
            return 1.0
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        return float(scaler.get_scale()) if scaler is not None and scaler.is_enabled() else 1.0

    def _grad_inputs(self, features: Features, level: str) -> list[Tensor]:
        if level == "representation":
            return [features.shared]
        params = (
            self.architecture.last_shared_parameters()
            if level == "last_shared_layer"
            else self.architecture.shared_parameters()
        )
        return [p for p in params if p.requires_grad]

    def task_gramian(
        self, losses: Sequence[Tensor] | Tensor, features: Features, level: str | None = None
    ) -> Tensor:
        """K x K Gramian of the per-task gradients at ``level`` (default: the weighting's ``grad_level``;
        one of ``GRAD_LEVELS``), same on all ranks. A collective under DDP: call it on every rank.
        ``losses``: the K task losses, best ``StepOutput.task_losses`` (K passes, each through its own
        task's branch; a stacked tensor makes every pass go through all K branches). At the
        representation level of an architecture with ``Features.per_task_views`` (hard sharing) it is
        one pass through all heads, row t read at task t's view.

        The Gramian is float32, also under mixed precision (computed with autocast off).
        Parameter levels: per-rank gradients are averaged first (the gradient of the global mean loss),
        then G G^T. Representation level: the global representation is the concatenation over ranks,
        so the Gramian is sum_r G_r G_r^T / world^2.
        """
        level = self.weighting.grad_level if level is None else level
        if level not in GRAD_LEVELS:
            raise unknown_choice("grad_level", level, GRAD_LEVELS, "gradient level")
        scale = self._loss_scale()
        if level == "representation" and features.per_task_views:  # one pass: row t at task t's view
            total = sum(losses[k] for k in range(len(self.task_names)))
            views = [features.per_task[t] for t in self.task_names]
            grads = torch.autograd.grad(total * scale, views, retain_graph=True, materialize_grads=True)
            rows = [g.reshape(-1) for g in grads]
        else:  # one pass per task, through its own branch
            inputs = self._grad_inputs(features, level)
            rows = []
            for k in range(len(self.task_names)):
                loss = losses[k] if scale == 1.0 else losses[k] * scale
                grads = torch.autograd.grad(loss, inputs, retain_graph=True, materialize_grads=True)
                rows.append(torch.cat([g.reshape(-1) for g in grads]))
        matrix = torch.stack(rows).float()
        if scale != 1.0:
            matrix = matrix / scale
        # autocast would run the products in fp16/bf16 (3 significant digits, under- and overflow)
        with torch.autocast(matrix.device.type, enabled=False):
            if level == "representation":
                gramian = self._reduce_mean(matrix @ matrix.T)
                if self._distributed():
                    gramian = gramian / self.trainer.world_size
                return gramian
            matrix = self._reduce_mean(matrix)
            return matrix @ matrix.T

    def statistics(
        self, step: StepOutput, requires: frozenset[str] | None = None, grad_level: str | None = None
    ) -> GradientStats:
        """Compute exactly the statistics the weighting declared in ``requires`` (or those asked for,
        at ``grad_level``: tests feed several strategies the statistics of one step)."""
        required = self.weighting.requires if requires is None else requires
        stats = GradientStats()
        if "global_losses" in required:
            stats.global_losses = self._reduce_mean(step.losses.detach().float())
        if required & {"grad_norms", "gramian"}:
            gramian = self.task_gramian(step.task_losses, step.features, level=grad_level)
            stats.gramian = gramian
            stats.grad_norms = gramian.diagonal().clamp_min(0).sqrt()
        return stats

    # ----------------------------------------------------------------------------- steps
    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> Tensor:
        step = self.shared_step(batch)
        self.current_step = step
        weighting = self.weighting(step.losses, self.statistics(step))
        coefficients = weighting.coefficients.to(step.losses.dtype)
        objective = (coefficients * step.losses).sum() + weighting.extra
        self._stop_if_diverged(objective, step.losses)

        batch_size = int(batch["inputs"].shape[0])
        if self._step_is_logged(batch_idx):
            self._log_losses("train", step.losses, batch_size, on_step=True)
            self.log(
                "train/objective", objective.detach(), on_step=True, on_epoch=False, batch_size=batch_size
            )
            for i, task in enumerate(self.task_names):
                self.log(
                    f"train/weight/{task}",
                    coefficients[i],
                    on_step=True,
                    on_epoch=False,
                    batch_size=batch_size,
                )
            for name, value in self.weighting.logged_values().items():
                self.log(f"train/{name}", value, on_step=True, on_epoch=False, batch_size=batch_size)
        self._update_train_metrics(step.predictions, batch)
        if self._last_step_of_epoch(batch_idx):
            self._log_train_metrics()
        return objective

    def _last_step_of_epoch(self, batch_idx: int) -> bool:
        """The epoch's last batch, or the last step of training (``max_steps``); False outside a Trainer."""
        if self._trainer is None:
            return False
        trainer = self.trainer
        return batch_idx + 1 >= trainer.num_training_batches or trainer.global_step + 1 == trainer.max_steps

    def _step_is_logged(self, batch_idx: int) -> bool:
        """Whether Lightning writes this training step's values to the loggers: every
        ``log_every_n_steps``-th optimizer step, plus the last step of an epoch or of training (so the
        final values reach ``callback_metrics`` and the summary). Per-step values of the other steps
        would be dropped anyway, and each ``self.log`` costs Lightning bookkeeping (~0.1-1 ms on a CPU)."""
        if self._trainer is None:
            return True
        every = self.trainer.log_every_n_steps
        if self.trainer.fast_dev_run or every <= 1:
            return True
        return (self.trainer.global_step + 1) % every == 0 or self._last_step_of_epoch(batch_idx)

    def _log_train_metrics(self) -> None:
        """Train metrics are updated every step and computed, logged (as epoch values) and reset once, at
        the epoch's last step, instead of logging every Metric object every step as val/test do."""
        for task in [
            t for t in self.task_names if t in self._train_metrics_updated
        ]:  # same order on all ranks
            collection = self.train_metrics[task]
            for name, value in collection.compute().items():
                self.log(f"train/{task}/{name}", value, on_step=False, on_epoch=True, batch_size=1)
            collection.reset()
        self._train_metrics_updated.clear()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.current_step = None
        self.weighting.on_after_optimizer_step()

    def on_train_epoch_end(self) -> None:
        self.weighting.on_train_epoch_end()

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._evaluate("val", batch)

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._evaluate("test", batch)

    def _evaluate(self, split: str, batch: Mapping[str, Any]) -> None:
        step = self.shared_step(batch)
        batch_size = int(batch["inputs"].shape[0])
        self._log_losses(split, step.losses, batch_size, on_step=False)
        self._update_metrics(split, step.predictions, batch, batch_size)

    def _stop_if_diverged(self, objective: Tensor, losses: Tensor) -> None:
        diverged = not bool(torch.isfinite(objective))
        if self._distributed():
            diverged = self.trainer.strategy.reduce_boolean_decision(diverged, all=False)
        if diverged:
            values = {t: float(losses[i].detach()) for i, t in enumerate(self.task_names)}
            values["objective"] = float(objective.detach())
            raise DivergenceError(int(self.global_step), values)

    # ----------------------------------------------------------------------------- logging
    def _log_losses(self, split: str, losses: Tensor, batch_size: int, on_step: bool) -> None:
        sync = not on_step
        detached = losses.detach()
        for i, task in enumerate(self.task_names):
            self.log(
                f"{split}/{task}/loss",
                detached[i],
                on_step=on_step,
                on_epoch=not on_step,
                batch_size=batch_size,
                sync_dist=sync,
            )
        self.log(
            f"{split}/loss",
            detached.sum(),
            on_step=on_step,
            on_epoch=not on_step,
            batch_size=batch_size,
            sync_dist=sync,
            prog_bar=True,
        )

    def _metrics(self, split: str) -> nn.ModuleDict:
        return {"train": self.train_metrics, "val": self.val_metrics, "test": self.test_metrics}[split]

    def _labelled(
        self, predictions: Mapping[str, Tensor], batch: Mapping[str, Any]
    ) -> Iterator[tuple[str, Tensor, Tensor]]:
        """(task, prediction, target) for every task with labelled samples in the batch."""
        masks = batch.get("masks") or {}
        for task in self.task_names:
            prediction, target = predictions[task], batch["targets"][task]
            if task in masks:
                prediction, target = prediction[masks[task]], target[masks[task]]
            if target.shape[0] > 0:
                yield task, prediction, target

    def _update_train_metrics(self, predictions: Mapping[str, Tensor], batch: Mapping[str, Any]) -> None:
        for task, prediction, target in self._labelled(predictions, batch):
            self.train_metrics[task].update(*self.tasks[task].metric_inputs(prediction, target))
            self._train_metrics_updated.add(task)

    def _update_metrics(
        self, split: str, predictions: Mapping[str, Tensor], batch: Mapping[str, Any], batch_size: int
    ) -> None:
        for task, prediction, target in self._labelled(predictions, batch):
            collection = self._metrics(split)[task]
            collection.update(*self.tasks[task].metric_inputs(prediction, target))
            for name, metric in collection.items():
                self.log(
                    f"{split}/{task}/{name}", metric, on_step=False, on_epoch=True, batch_size=batch_size
                )

    # ----------------------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> Any:
        strategy_groups = self.weighting.param_groups(base_lr=0.0)
        strategy_ids = {id(p) for group in strategy_groups for p in group["params"]}
        model_params = [p for p in self.parameters() if p.requires_grad and id(p) not in strategy_ids]
        optimizer = self.optimizer_factory(params=model_params)
        for group in self.weighting.param_groups(base_lr=optimizer.defaults["lr"]):
            optimizer.add_param_group(group)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval},
        }
