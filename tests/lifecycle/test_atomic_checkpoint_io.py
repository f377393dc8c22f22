"""Checkpoint writes that a kill cannot leave half done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from mtl_lab.lifecycle.atomic_checkpoint_io import AtomicCheckpointIO, use_atomic_checkpoints


def test_an_interrupted_write_leaves_the_previous_checkpoint_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"step": 1}, path)
    real_save = torch.save

    def killed_halfway(obj: Any, file: Any) -> None:
        real_save(obj, file)
        file.truncate(10)
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_halfway)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 1}
    io.save_checkpoint({"step": 3}, path)
    assert torch.load(path, weights_only=True) == {"step": 3}
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"], "no temporary file is left"


def test_trainers_write_atomically_unless_given_their_own_writer() -> None:
    trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    use_atomic_checkpoints(trainer)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)

    class Own(TorchCheckpointIO):
        pass

    trainer = pl.Trainer(logger=False, plugins=[Own()], enable_progress_bar=False, enable_model_summary=False)
    use_atomic_checkpoints(trainer)
    assert type(trainer.strategy.checkpoint_io) is Own
