"""MultiTaskModule: the training step of docs/design.md as a LightningModule (the Lightning side only).

    out = model(batch.inputs)                    MultiTaskModel: predictions, features, shared, aux losses
    L, counts = task_losses(out, batch)          masked means; a task without labels has count 0
    stats = only what the weighting declared     counts, global losses, grad norms / Gramian (gradients.py)
    c, extra = weighting(L, stats)               (c detached)
    objective = sum_t c_t L_t + extra + sum(aux) -> returned to Lightning: ONE backward per step

Logged names (:mod:`mtl_lab.names`): ``<split>/<task>/loss``, ``<split>/loss`` (sum of the unweighted
task losses, comparable across strategies), ``<split>/<task>/<metric>``, ``train/objective``,
``train/weight/<task>``, ``train/aux_loss/<name>`` and the strategy's own values
(``train/log_var/<task>``). Per-step train values are logged on the steps Lightning writes to the loggers
(every ``log_every_n_steps``; between epoch ends straight to the loggers, see ``_log_step``) and on the
last step of an epoch or of training; train metrics are updated
every step and computed once per epoch; val/test losses are labelled-count weighted means over the epoch
(a task's loss averages its labelled units only). ``current_step`` holds the step's model output and
losses until the batch ends, for callbacks that measure gradients in ``on_before_backward``.

Divergence (:mod:`mtl_lab.divergence`): the objectives are kept on the device, without a host sync, and
checked every ``check_divergence_every_n_steps`` steps and at every epoch's last step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.distributed import ReduceOp
from torch.optim import Optimizer

from mtl_lab import gradients, names
from mtl_lab.batch import Batch, ModelOutput
from mtl_lab.divergence import DivergenceMonitor
from mtl_lab.gradients import LOCAL, GradientStats, Reduction
from mtl_lab.losses import TaskLosses, task_losses
from mtl_lab.models.model import MultiTaskModel, upgrade_state_dict
from mtl_lab.task_metrics import TaskMetrics, flags_on_any_rank
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import Weighting

OptimizerFactory = Callable[..., Optimizer]
SchedulerFactory = Callable[[Optimizer], Any]


@dataclass
class StepOutput:
    output: ModelOutput
    losses: TaskLosses


class MultiTaskModule(pl.LightningModule):
    """A :class:`MultiTaskModel` + a weighting strategy, trained with one backward per step.

    ``optimizer`` is a factory taking ``params`` (Hydra ``_partial_: true``); ``scheduler`` an optional
    factory taking the optimizer, stepped every ``scheduler_interval`` (``epoch`` or ``step``).
    """

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        model: MultiTaskModel,
        weighting: Weighting,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        check_divergence_every_n_steps: int = 50,
    ) -> None:
        super().__init__()
        self.tasks = dict(tasks)
        self.task_names = list(tasks)
        self.model = model
        self.weighting = weighting
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.check_divergence_every_n_steps = check_divergence_every_n_steps
        self.metrics = TaskMetrics(self.tasks)
        #: The training step in progress (model output and losses with their graph), from
        #: ``training_step`` until the end of the batch, for callbacks measuring gradients.
        self.current_step: StepOutput | None = None
        self.divergence = DivergenceMonitor(self.task_names)

    # ----------------------------------------------------------------------------- forward and losses
    def forward(self, inputs: Mapping[str, Tensor]) -> dict[str, Tensor]:
        return self.model(inputs).predictions

    def shared_step(self, batch: Batch, reduction: Reduction | None = None) -> StepOutput:
        output = self.model(batch.inputs)
        reduction = self.reduction() if reduction is None else reduction
        return StepOutput(output=output, losses=task_losses(self.tasks, output, batch, reduction))

    # ----------------------------------------------------------------------------- statistics
    def reduction(self) -> Reduction:
        """How values combine over DDP ranks (identity outside a distributed Trainer)."""
        if self._trainer is None or self.trainer.world_size <= 1:
            return LOCAL
        strategy = self.trainer.strategy
        return Reduction(
            world_size=self.trainer.world_size,
            mean=lambda t: strategy.reduce(t.detach().clone(), reduce_op="mean"),
            sum=lambda t: strategy.reduce(t.detach().clone(), reduce_op="sum"),
        )

    def _loss_scale(self) -> float:
        if self._trainer is None:
            return 1.0
        scaler = getattr(self.trainer.precision_plugin, "scaler", None)
        return float(scaler.get_scale()) if scaler is not None and scaler.is_enabled() else 1.0

    def task_gramian(self, step: StepOutput, level: str | None = None) -> Tensor:
        """K x K float32 Gramian of the step's per-task gradients at ``level`` (default: the weighting's
        ``grad_level``), the same on all ranks (a collective under DDP: call it on every rank)."""
        level = self.weighting.grad_level if level is None else level
        inputs, views = gradients.level_inputs(self.model.architecture, step.output, level)
        return gradients.gramian(
            step.losses.terms,
            inputs,
            representation=level == "representation",
            views=views,
            scale=self._loss_scale(),
            reduction=self.reduction(),
        )

    def statistics(
        self, step: StepOutput, requires: frozenset[str] | None = None, grad_level: str | None = None
    ) -> GradientStats:
        """The labelled counts and exactly the statistics the weighting declared in ``requires`` (or those
        asked for, at ``grad_level``: tests feed several strategies the statistics of one step)."""
        required = self.weighting.requires if requires is None else requires
        stats = GradientStats(counts=step.losses.counts)
        if "global_losses" in required:
            stats.global_losses = self.reduction().mean(step.losses.values.detach().float())
        if required & {"grad_norms", "gramian"}:
            stats.gramian = self.task_gramian(step, level=grad_level)
            stats.grad_norms = stats.gramian.diagonal().clamp_min(0).sqrt()
        return stats

    # ----------------------------------------------------------------------------- training
    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        step = self.shared_step(batch)
        self.current_step = step
        values = step.losses.values
        weighting = self.weighting(values, self.statistics(step))
        coefficients = weighting.coefficients.to(values.dtype)
        objective = (coefficients * values).sum() + weighting.extra
        for aux in step.output.aux_losses.values():
            objective = objective + aux
        self._track_divergence(objective, values, batch_idx)
        if self._step_is_logged(batch_idx):
            self._log_step(step, objective, coefficients, batch, batch_idx)
        self.metrics.update("train", step.output.predictions, batch)
        if self._last_step_of_epoch(batch_idx):
            self._log_train_metrics()
        return objective

    def _log_step(
        self, step: StepOutput, objective: Tensor, coefficients: Tensor, batch: Batch, idx: int
    ) -> None:
        """The step's values: through ``self.log`` at the last step of an epoch or of training (they reach
        ``callback_metrics`` and the summary); on the other logged steps ``train/loss`` alone goes through
        ``self.log`` (the progress bar) and the rest straight to the loggers, at the step Lightning would
        write: each ``self.log`` costs Lightning ~1 ms of bookkeeping on a small CPU."""
        values = step.losses.values.detach()
        logged = {names.task_metric("train", t, names.LOSS): values[i] for i, t in enumerate(self.task_names)}
        logged[names.OBJECTIVE] = objective.detach()
        logged.update({names.weight(t): coefficients[i] for i, t in enumerate(self.task_names)})
        logged.update({names.aux_loss(n): v.detach() for n, v in step.output.aux_losses.items()})
        logged.update({names.strategy_value(n): v for n, v in self.weighting.logged_values().items()})
        train_loss = names.split_loss("train")
        self.log(train_loss, values.sum(), on_step=True, on_epoch=False, batch_size=batch.size, prog_bar=True)
        if self._trainer is not None and not self._last_step_of_epoch(idx):
            self._write_to_loggers(logged)
            return
        for name, value in logged.items():
            self.log(name, value, on_step=True, on_epoch=False, batch_size=batch.size)

    def _write_to_loggers(self, values: Mapping[str, Tensor]) -> None:
        trainer = self.trainer
        if not trainer.loggers or not trainer.is_global_zero:
            return
        scalars = torch.stack([v.detach().float().reshape(()) for v in values.values()]).tolist()
        metrics = {**dict(zip(values, scalars, strict=True)), "epoch": trainer.current_epoch}
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

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
        would be dropped anyway."""
        if self._trainer is None:
            return True
        every = self.trainer.log_every_n_steps
        if self.trainer.fast_dev_run or every <= 1:
            return True
        return (self.trainer.global_step + 1) % every == 0 or self._last_step_of_epoch(batch_idx)

    def _track_divergence(self, objective: Tensor, losses: Tensor, batch_idx: int) -> None:
        self.divergence.record(int(self.global_step), objective, losses)
        if (self.global_step + 1) % self.check_divergence_every_n_steps and not self._last_step_of_epoch(
            batch_idx
        ):
            return
        self.check_divergence()

    def check_divergence(self) -> None:
        """Raise :class:`DivergenceError` if a step recorded since the last check diverged on any rank
        (a collective under DDP: call it on every rank); then forget the recorded steps."""
        reduce_min = None
        if self._trainer is not None and self.trainer.world_size > 1:
            strategy = self.trainer.strategy
            reduce_min = lambda t: strategy.reduce(t.clone(), reduce_op=ReduceOp.MIN)  # noqa: E731
        self.divergence.check(reduce_min)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """The optimizer step, then the weighting's hook: before any ``on_train_batch_end``, so a checkpoint
        written there holds the weighting's state after the step (:mod:`mtl_lab.lifecycle`)."""
        super().optimizer_step(*args, **kwargs)
        self.weighting.on_after_optimizer_step()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.current_step = None

    def on_train_epoch_end(self) -> None:
        self.weighting.on_train_epoch_end()

    # ----------------------------------------------------------------------------- metrics
    def _log_train_metrics(self) -> None:
        """Train metrics are updated every step and computed, logged (as epoch values) and reset once, at
        the epoch's last step, instead of logging every Metric object every step as val/test do."""
        any_rank = None
        if self._trainer is not None and self.trainer.world_size > 1:  # a task labelled on some ranks only
            any_rank = flags_on_any_rank(self.reduction().sum, self.device)
        for name, value in self.metrics.compute_train(any_rank).items():
            self.log(name, value, on_step=False, on_epoch=True, batch_size=1)

    # ----------------------------------------------------------------------------- evaluation
    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate("val", batch)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate("test", batch)

    def _evaluate(self, split: str, batch: Batch) -> None:
        step = self.shared_step(batch, reduction=LOCAL)  # per-rank means, weighted by count below
        self.metrics.update_eval_losses(split, step.losses.values, step.losses.counts)
        self.metrics.update(split, step.output.predictions, batch)
        for name, metric in self.metrics.eval_metric_objects(split).items():
            self.log(name, metric, on_epoch=True, batch_size=batch.size)

    def _log_eval_losses(self, split: str) -> None:
        for name, value in self.metrics.compute_eval_losses(split).items():
            self.log(name, value, sync_dist=True, prog_bar=name == names.split_loss(split))

    def on_validation_epoch_end(self) -> None:
        self._log_eval_losses("val")

    def on_test_epoch_end(self) -> None:
        self._log_eval_losses("test")

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["state_dict"] = upgrade_state_dict(checkpoint["state_dict"])

    # ----------------------------------------------------------------------------- optimisation
    def configure_optimizers(self) -> Any:
        strategy_groups = self.weighting.param_groups(base_lr=0.0)
        scaled_groups = self.model.architecture.lr_multipliers()
        own_ids = {id(p) for group in strategy_groups for p in group["params"]}
        own_ids |= {id(p) for params, _ in scaled_groups for p in params}
        model_params = [p for p in self.parameters() if p.requires_grad and id(p) not in own_ids]
        optimizer = self.optimizer_factory(params=model_params)
        base_lr = optimizer.defaults["lr"]
        for params, multiplier in scaled_groups:
            optimizer.add_param_group({"params": params, "lr": base_lr * multiplier})
        for group in self.weighting.param_groups(base_lr=base_lr):
            optimizer.add_param_group(group)
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": self.scheduler_interval},
        }
