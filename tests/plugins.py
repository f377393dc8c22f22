"""Test plug-ins, loaded by dotted path the way users plug in their own classes
(``weighting.name=plugins:NaNAfter``, ``data.name=plugins:PartialLabels``,
``+callbacks.rank_check._target_=plugins.RankConsistencyCheck``, ``weighting.name=plugins:SideBySide``,
``+hydra.callbacks.kill._target_=plugins.KillAtJob``, ``+callbacks.kill._target_=plugins.SigkillAt``)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback as HydraCallback
from omegaconf import DictConfig
from pytorch_lightning.callbacks import Callback
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.data import MultiTaskDataModule, TensorSplit
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import WEIGHTINGS, FixedWeighting, GradientStats, Weighting, WeightingOutput


class NaNAfter(FixedWeighting):
    """Fixed weights whose objective turns NaN from training step ``after`` on (0-based count)."""

    def __init__(self, tasks: Mapping[str, TaskSpec], after: int = 5) -> None:
        super().__init__(tasks)
        self.after = after
        self.calls = 0

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        out = super().forward(losses, stats)
        if self.calls >= self.after:
            out.extra = out.extra + torch.tensor(float("nan"))
        self.calls += 1
        return out


class SideBySide(Weighting):
    """Several registered strategies run side by side on the same losses and statistics, so that one
    (DDP) run exercises all of them: each member keeps its own state; the coefficients used are the
    members' mean. Members are built with their defaults; gradient statistics are taken at ``grad_level``.
    """

    def __init__(
        self, tasks: Mapping[str, TaskSpec], members: list[str], grad_level: str = "last_shared_layer"
    ) -> None:
        super().__init__(tasks, grad_level=grad_level)
        self.members = nn.ModuleList([WEIGHTINGS.build({"name": name}, tasks=tasks) for name in members])
        self.requires = frozenset().union(*(m.requires for m in self.members))

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        outputs = [member(losses, stats) for member in self.members]
        return WeightingOutput(
            coefficients=torch.stack([o.coefficients for o in outputs]).mean(0),
            extra=sum((o.extra for o in outputs), self.zero_extra(losses)),
        )

    def current_coefficients(self) -> Tensor:
        return torch.stack([m.current_coefficients() for m in self.members]).mean(0)

    def param_groups(self, base_lr: float) -> list[dict[str, Any]]:
        return [group for m in self.members for group in m.param_groups(base_lr)]

    def on_after_optimizer_step(self) -> None:
        for member in self.members:
            member.on_after_optimizer_step()

    def on_train_epoch_end(self) -> None:
        for member in self.members:
            member.on_train_epoch_end()


class PartialLabels(MultiTaskDataModule):
    """Two tasks; the second is labelled for half of the samples. ``bad_label`` corrupts one val label,
    ``unlabelled`` removes every train label of a task, ``empty`` empties a split."""

    name = "partial"

    def __init__(
        self,
        bad_label: int | None = None,
        unlabelled: str | None = None,
        empty: str | None = None,
        **kwargs: object,
    ) -> None:
        self.bad_label, self.unlabelled, self.empty = bad_label, unlabelled, empty
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def declare_tasks(self) -> dict[str, TaskSpec]:
        return {"a": TaskSpec("a", "classification", 3), "b": TaskSpec("b", "regression", 1)}

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        return {"features": InputSpec((4,))}

    def make_splits(self) -> dict[str, TensorSplit]:
        splits = {}
        for split in ("train", "val", "test"):
            n = 0 if split == self.empty else 10
            labels = torch.arange(n) % 3
            if self.bad_label is not None and split == "val":
                labels[4] = self.bad_label
            masks = {"b": torch.arange(n) % 2 == 0}
            if self.unlabelled and split == "train":
                masks[self.unlabelled] = torch.zeros(n, dtype=torch.bool)
            splits[split] = TensorSplit(
                inputs={"features": torch.randn(n, 4)},
                targets={"a": labels, "b": torch.randn(n, 1)},
                masks=masks,
            )
        return splits


class RankConsistencyCheck(Callback):
    def __init__(self) -> None:
        self.checks = 0
        self.max_weighting_diff = 0.0
        self.max_param_diff = 0.0
        self.coefficients: list[list[float]] = []

    @staticmethod
    def _spread(pl_module: pl.LightningModule, tensors: list[torch.Tensor]) -> float:
        flat = torch.cat([t.detach().float().reshape(-1) for t in tensors])
        gathered = pl_module.all_gather(flat)  # [world, n]
        return float((gathered - gathered[0]).abs().max())

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        weighting = pl_module.weighting
        state = [*weighting.parameters(), *weighting.buffers(), weighting.current_coefficients()]
        self.max_weighting_diff = max(self.max_weighting_diff, self._spread(pl_module, state))
        self.max_param_diff = max(self.max_param_diff, self._spread(pl_module, list(pl_module.parameters())))
        self.coefficients.append([float(c) for c in weighting.current_coefficients()])
        self.checks += 1

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            report = {
                "world_size": trainer.world_size,
                "checks": self.checks,
                "max_weighting_diff": self.max_weighting_diff,
                "max_param_diff": self.max_param_diff,
                "coefficients": self.coefficients,
            }
            Path(trainer.default_root_dir, "rank_check.json").write_text(json.dumps(report))


class AllWeightingsRankCheck(Callback):
    """Feeds one instance of EVERY registered weighting the module's rank-reduced statistics of each
    training batch (one extra forward in eval mode, so training is untouched) and all-gathers their
    coefficients: writes ``all_weightings_rank_check.json`` with the largest spread across ranks per
    strategy, the number of checks, and the first and last coefficients of each."""

    def __init__(self) -> None:
        self.weightings: dict[str, Weighting] = {}
        self.max_diff: dict[str, float] = {}
        self.first: dict[str, list[float]] = {}
        self.last: dict[str, list[float]] = {}
        self.checks = 0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.weightings = {n: WEIGHTINGS.build({"name": n}, tasks=pl_module.tasks) for n in WEIGHTINGS}
        self.weightings = {n: w.to(pl_module.device) for n, w in self.weightings.items()}

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        requires = frozenset().union(*(w.requires for w in self.weightings.values()))
        levels = sorted({w.grad_level for w in self.weightings.values()})
        pl_module.eval()
        with torch.enable_grad():
            step = pl_module.shared_step(batch)
            stats = {level: pl_module.statistics(step, requires, level) for level in levels}
        pl_module.train()
        for name, weighting in self.weightings.items():
            coefficients = weighting(
                step.losses.values.detach(), stats[weighting.grad_level]
            ).coefficients.float()
            gathered = pl_module.all_gather(coefficients)  # [world, K]
            spread = float((gathered - gathered[0]).abs().max())
            self.max_diff[name] = max(self.max_diff.get(name, 0.0), spread)
            self.first.setdefault(name, coefficients.tolist())
            self.last[name] = coefficients.tolist()
            weighting.on_after_optimizer_step()
        self.checks += 1

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for weighting in self.weightings.values():
            weighting.on_train_epoch_end()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            report = {
                "world_size": trainer.world_size,
                "checks": self.checks,
                "max_diff": self.max_diff,
                "first": self.first,
                "last": self.last,
            }
            Path(trainer.default_root_dir, "all_weightings_rank_check.json").write_text(json.dumps(report))


class RaiseAt(Callback):
    """Raises ``KeyboardInterrupt`` (``error: interrupt``) or ``RuntimeError`` at training step ``step``."""

    def __init__(self, step: int, error: str = "runtime") -> None:
        self.step = step
        self.error = error

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == self.step:
            raise KeyboardInterrupt if self.error == "interrupt" else RuntimeError("boom\nsecond line")


class KillAtJob(HydraCallback):
    """Hydra callback that kills the sweep process (no clean-up, like ``kill -9``) as job ``num`` starts."""

    def __init__(self, num: int) -> None:
        self.num = num

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.job.num == self.num:
            os._exit(137)


class SigkillAt(Callback):
    """``kill -9`` of its process group (the run, its loader workers and DDP ranks: the CLI tests run each
    command in a group of its own) as training step ``step`` starts (``at: test``: as testing starts),
    only in multirun job ``job`` when given, and only once when ``once`` names a marker file (created
    just before the kill), so the same command run again goes on."""

    def __init__(self, step: int = 0, at: str = "train", job: int | None = None, once: str | None = None):
        self.step, self.at, self.job, self.once = step, at, job, once

    def _kill(self) -> None:
        if self.job is not None and (not HydraConfig.initialized() or HydraConfig.get().job.num != self.job):
            return
        if self.once is not None:
            if Path(self.once).exists():
                return
            Path(self.once).touch()
        os.killpg(os.getpgrp(), signal.SIGKILL)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.at == "train" and trainer.global_step == self.step:
            self._kill()

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.at == "test":
            self._kill()
