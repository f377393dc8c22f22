"""``checkpoints/last.ckpt``: the state a killed run resumes from (``mtl-train resume=<run dir>``).

:class:`LastCheckpoint` owns the file (the ``model_checkpoint`` callback keeps only the best one). It is
written at the end of every training epoch (after validation, the best checkpoint, early stopping and
the weighting's epoch-end update) and, with ``checkpoint_every_n_steps: N``, after every N-th optimizer
step within an epoch (not between the micro-batches of one step): after the weighting's post-step
hook and a divergence check (so no checkpoint holds a diverged model), never at a step that validation
follows (the epoch's end covers it, and Lightning would not rerun a validation it believes done). The
loggers are flushed first, so the logs on disk reach at least the checkpoint's step. Writes are atomic
(:mod:`.atomic_checkpoint_io`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint

from mtl_lab.errors import ConfigError

LAST_CHECKPOINT = "last.ckpt"


def validation_follows(trainer: pl.Trainer, batch_idx: int) -> bool:
    """Whether validation may run right after this training batch (the epoch's last batch, a
    ``val_check_interval`` batch, a requested stop, the last step of training)."""
    loop = trainer.fit_loop.epoch_loop
    every = trainer.val_check_batch
    index = loop.total_batch_idx if trainer.check_val_every_n_epoch is None else batch_idx
    return (
        loop.batch_progress.is_last_batch
        or trainer.should_stop
        or 0 < trainer.max_steps <= trainer.global_step
        or (isinstance(every, int) and every > 0 and (index + 1) % every == 0)
    )


class LastCheckpoint(Checkpoint):
    """Writes ``<dirpath>/last.ckpt`` at every epoch end and every ``every_n_steps`` optimizer steps."""

    def __init__(self, dirpath: str | Path, every_n_steps: int | None = None) -> None:
        if every_n_steps is not None and every_n_steps < 1:
            raise ConfigError(f"checkpoint_every_n_steps: must be >= 1 or null, got {every_n_steps}")
        self.path = Path(dirpath) / LAST_CHECKPOINT
        self.every_n_steps = every_n_steps

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        every = self.every_n_steps
        accumulating = (batch_idx + 1) % trainer.accumulate_grad_batches
        if not every or accumulating or trainer.global_step % every or validation_follows(trainer, batch_idx):
            return
        check = getattr(pl_module, "check_divergence", None)
        if callable(check):
            check()
        self._save(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._save(trainer)

    def _save(self, trainer: pl.Trainer) -> None:
        if trainer.fast_dev_run or trainer.sanity_checking:
            return
        for logger in trainer.loggers:
            logger.save()
        trainer.save_checkpoint(self.path, weights_only=False)
