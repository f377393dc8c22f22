"""Checkpoint files written so that a crash or ``kill -9`` never leaves a partial one.

Lightning's default writer (``_atomic_save``) serialises to memory, then writes through an fsspec
transaction whose local temporary file lives in the system temp directory; when that is another file
system, the final move is a copy into the destination, which a kill can cut short. Here the bytes go to
``.<name>.tmp`` next to the destination (the same file system), are flushed to disk, and the file is
renamed over the destination with ``os.replace`` (atomic on POSIX): the checkpoint at that path is always
either the previous complete one or the new complete one. Remote paths (``s3://`` ...) keep Lightning's
writer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning_fabric.utilities.cloud_io import _is_local_file_protocol


class AtomicCheckpointIO(TorchCheckpointIO):
    """:class:`TorchCheckpointIO` whose local writes are write-temporary-then-rename (module docstring)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or not _is_local_file_protocol(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        with open(tmp, "wb") as file:
            torch.save(checkpoint, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, target)


def use_atomic_checkpoints(trainer: pl.Trainer) -> None:
    """Write the trainer's checkpoints with :class:`AtomicCheckpointIO` (unless it has its own writer)."""
    if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:
        trainer.strategy.checkpoint_io = AtomicCheckpointIO()
