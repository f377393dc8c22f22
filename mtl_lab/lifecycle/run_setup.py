"""The run keys ``resume`` and ``checkpoint_every_n_steps``, applied by :mod:`mtl_lab.experiment`.

- :func:`lifecycle_callbacks`: every run gets :class:`~.run_state.RunState` (what Lightning's checkpoint
  lacks) and :class:`~.last_checkpoint.LastCheckpoint` (``checkpoints/last.ckpt`` at every epoch end and
  every ``checkpoint_every_n_steps`` steps). A ``callbacks.<name>`` node with ``save_last`` is refused:
  two writers of ``last.ckpt`` would rename each other's files.
- :func:`prepare_resume`: with ``resume`` set (the run's own directory, see
  :mod:`.resume_command`), the checkpoint to fit from, after the CSV log is made to continue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.utilities import rank_zero_only

from mtl_lab.errors import ConfigError
from mtl_lab.lifecycle.csv_log import continue_csv_logs
from mtl_lab.lifecycle.last_checkpoint import LAST_CHECKPOINT, LastCheckpoint
from mtl_lab.lifecycle.run_state import RunState

#: The top-level keys of ``train.yaml`` read here, and their types (part of ``experiment.RUN_KEYS``).
LIFECYCLE_KEYS: dict[str, Any] = {"resume": str | None, "checkpoint_every_n_steps": int | None}


def lifecycle_callbacks(cfg: DictConfig) -> list[Callback]:
    """:class:`RunState` and :class:`LastCheckpoint` for ``cfg`` (ConfigError on a second ``last.ckpt``)."""
    for name, node in (cfg.get("callbacks") or {}).items():
        if node is not None and node.get("save_last"):
            raise ConfigError(
                f"callbacks.{name}.save_last: checkpoints/{LAST_CHECKPOINT} is written by mtl_lab (every "
                "epoch end and every checkpoint_every_n_steps steps); set it to false"
            )
    every = cfg.get("checkpoint_every_n_steps")
    return [RunState(), LastCheckpoint(Path(cfg.paths.output_dir) / "checkpoints", every)]


def last_checkpoint_path(trainer: pl.Trainer) -> str | None:
    """The path :class:`LastCheckpoint` writes (None without one)."""
    found = [c.path for c in trainer.callbacks if isinstance(c, LastCheckpoint)]  # type: ignore[attr-defined]
    return str(found[0]) if found else None


def prepare_resume(cfg: DictConfig, output: Path, trainer: pl.Trainer) -> Path | None:
    """With ``resume`` set: ``<output>/checkpoints/last.ckpt`` (ConfigError when ``resume`` names another
    directory or the checkpoint is missing), the CSV logs trimmed to its step; else None."""
    resume = cfg.get("resume")
    if resume is None:
        return None
    if Path(str(resume)).resolve() != output.resolve():
        raise ConfigError(f"resume: {resume} is not this run's directory {output}; a run resumes in place")
    checkpoint = output / "checkpoints" / LAST_CHECKPOINT
    if not checkpoint.is_file():
        raise ConfigError(f"resume: {output} has no checkpoints/{LAST_CHECKPOINT}; run it without resume=")
    if rank_zero_only.rank == 0:
        step = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)["global_step"]
        continue_csv_logs(trainer.loggers, int(step))
    return checkpoint
