"""Test helper callback: after every training batch, compare the weighting's state and all model
parameters across DDP ranks; rank 0 writes ``rank_check.json`` into the run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback


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
