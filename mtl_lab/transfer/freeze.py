"""``freeze``: keep parts of the model fixed while the rest trains (e.g. a transferred encoder).

Before the optimizer is built, every parameter the paths select (:mod:`mtl_lab.transfer.freeze_paths`)
gets ``requires_grad=False``: the optimizer never holds it (``configure_optimizers`` takes trainable
parameters only) and gradient statistics leave it out (``gradients.level_inputs``). Frozen modules run in
eval mode while training (:class:`FrozenModules`): BatchNorm normalises with, and keeps, its running
statistics and dropout is off, the usual choice for a frozen transferred encoder. Refused before
training, in one line: freezing every parameter of the model, and a gradient-based weighting whose
``grad_level`` is left with no trainable parameter (every shared parameter frozen for ``params`` and
``representation``, the last shared layer for ``last_shared_layer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning import Callback

from mtl_lab.errors import ConfigError
from mtl_lab.models.model import MultiTaskModel
from mtl_lab.transfer.freeze_paths import FreezeTargets, resolve_freeze_paths
from mtl_lab.weighting import Weighting

GRADIENT_STATISTICS = frozenset({"grad_norms", "gramian"})


@dataclass
class FreezeReport:
    """The paths as given, what they selected, and the parameter counts (scalars) after freezing."""

    paths: list[str]
    targets: FreezeTargets
    frozen_parameters: int
    trainable_parameters: int

    def to_json(self) -> dict[str, Any]:
        """``summary.json``'s ``freeze``."""
        return {
            "paths": self.paths,
            "modules": list(self.targets.modules),
            "parameters": list(self.targets.parameters),
            "frozen_parameters": self.frozen_parameters,
            "trainable_parameters": self.trainable_parameters,
        }

    def lines(self) -> list[str]:
        """The line printed at the start of the run."""
        return [
            f"freeze: {', '.join(self.paths)} -> {', '.join(self.targets.names)} "
            f"({self.frozen_parameters:,} parameters frozen, {self.trainable_parameters:,} trainable; "
            "frozen modules in eval mode)"
        ]


def freeze_model(model: MultiTaskModel, paths: Sequence[str]) -> FreezeReport:
    """Set ``requires_grad=False`` on what ``paths`` select; refuse to freeze the whole model."""
    targets = resolve_freeze_paths(model, paths)
    for module in targets.modules.values():
        module.requires_grad_(False)
    for parameter in targets.parameters.values():
        parameter.requires_grad_(False)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if trainable == 0:
        raise ConfigError(f"freeze: {list(paths)} freezes every parameter of the model; nothing would train")
    return FreezeReport(list(paths), targets, frozen, trainable)


def check_gradient_level(model: MultiTaskModel, weighting: Weighting, key: str) -> None:
    """Refuse a gradient-based weighting whose ``grad_level`` has no trainable parameter left."""
    if not weighting.requires & GRADIENT_STATISTICS:
        return
    architecture = model.architecture
    shared = any(p.requires_grad for p in architecture.shared_parameters())
    last = any(p.requires_grad for p in architecture.last_shared_parameters())
    trainable = {"params": shared, "representation": shared, "last_shared_layer": last}
    level = weighting.grad_level
    if trainable[level]:
        return
    usable = [name for name in architecture.grad_levels if trainable[name]]
    hint = (
        f"use weighting.grad_level={usable[0]}"
        if usable
        else "freeze fewer shared parameters, or use a loss-based weighting (e.g. weighting=uncertainty)"
    )
    raise ConfigError(
        f"freeze: weighting={key} needs task gradients at grad_level {level!r}, where every parameter is "
        f"frozen; {hint}"
    )


class FrozenModules(Callback):
    """Puts the frozen modules in eval mode at the start of every training epoch (Lightning's evaluation
    loops restore each module's mode afterwards) and adds ``freeze`` to ``summary.json``."""

    def __init__(self, report: FreezeReport) -> None:
        self.report = report

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for module in self.report.targets.modules.values():
            module.eval()

    def summary_fields(self) -> dict[str, Any]:
        return {"freeze": self.report.to_json()}
