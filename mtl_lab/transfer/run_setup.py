"""The run keys ``init_from`` and ``freeze`` applied to a freshly built module, before any optimizer.

:func:`transfer_callbacks` is called by :func:`mtl_lab.experiment.build_experiment` (so ``mtl-eval``,
``mtl-predict`` and ``mtl-export``, which build the module and load the run's own checkpoint, never read
the source again): it initialises the model from ``init_from`` (:mod:`mtl_lab.transfer.init_from`),
then freezes the ``freeze`` paths (:mod:`mtl_lab.transfer.freeze`), prints one block saying what both
did (rank 0) and returns the callbacks that record it in ``summary.json``.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig
from pytorch_lightning import Callback
from pytorch_lightning.utilities import rank_zero_only

from mtl_lab.module import MultiTaskModule
from mtl_lab.transfer.freeze import FrozenModules, check_gradient_level, freeze_model
from mtl_lab.transfer.init_from import InitFromRecord, initialise_from
from mtl_lab.transfer.source import load_source

#: The top-level keys of ``train.yaml`` read here, and their types (part of ``experiment.RUN_KEYS``).
TRANSFER_KEYS: dict[str, Any] = {"init_from": str | None, "freeze": list[str] | str | None}


def freeze_paths(cfg: DictConfig) -> list[str]:
    """``freeze`` as a list of paths (one path may be given alone; null or [] freezes nothing)."""
    value = cfg.get("freeze")
    if value is None:
        return []
    return [str(value)] if isinstance(value, str) else [str(path) for path in value]


def transfer_callbacks(cfg: DictConfig, module: MultiTaskModule) -> list[Callback]:
    """Apply ``init_from`` and ``freeze`` to ``module.model``; one-line :class:`ConfigError` on a bad
    source, a checkpoint that does not fit, a path naming nothing or a weighting left without gradients."""
    callbacks: list[Callback] = []
    lines: list[str] = []
    source = cfg.get("init_from")
    if source is not None:
        report = initialise_from(module.model, load_source(str(source)))
        callbacks.append(InitFromRecord(report))
        lines += report.lines()
    paths = freeze_paths(cfg)
    if paths:
        frozen = freeze_model(module.model, paths)
        check_gradient_level(module.model, module.weighting, str(cfg.weighting.get("name")))
        callbacks.append(FrozenModules(frozen))
        lines += frozen.lines()
    if lines and rank_zero_only.rank == 0:
        print("\n".join(lines))
    return callbacks
