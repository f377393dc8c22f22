"""What a checkpoint must hold beyond Lightning's own for a resumed run to continue exactly.

Lightning saves the model (weighting state included: its parameters and buffers are the module's), the
optimizer, the schedulers, the loop position, the callbacks' states and the training loader's position
(:mod:`mtl_lab.data.resumable_loader`). :class:`RunState` adds, under ``checkpoint["mtl_lab_run_state"]``:

- ``rng``: every random generator (:mod:`.rng_state`) at the moment of saving; restored when the first
  training batch after the resume starts, so nothing the resumed process does before (building the
  model, the sanity check, creating the loaders) shifts the streams;
- ``train_metrics``: the epoch's train-metric accumulators (under DDP reduced over the ranks, given back
  to rank 0 only: the epoch's reduction adds the other ranks' new ones);
- ``metrics``: every value logged so far (``trainer.callback_metrics``), so a run resumed after its last
  validation still reports them (:func:`restored_metrics`);
- ``should_stop``: a fit that early stopping ended stays ended.

A fit resumed from such a checkpoint adds ``resumed_from: {step, epoch, checkpoint}`` to ``summary.json``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.trainer.states import TrainerFn
from torch import Tensor

from mtl_lab.lifecycle.rng_state import capture_rng_states, restore_rng_states
from mtl_lab.module import MultiTaskModule
from mtl_lab.task_metrics import flags_on_any_rank

RUN_STATE_KEY = "mtl_lab_run_state"


class RunState(Callback):
    """Saves and restores the state listed in the module docstring."""

    def __init__(self) -> None:
        self.restored_metrics: dict[str, Any] = {}
        self.resumed_from: dict[str, Any] | None = None
        self._rng: dict[str, Any] | None = None

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        state: dict[str, Any] = {
            "rng": capture_rng_states(),
            "should_stop": trainer.should_stop,
            "metrics": {
                k: v.detach().cpu() if isinstance(v, Tensor) else v
                for k, v in trainer.callback_metrics.items()
            },
        }
        if isinstance(pl_module, MultiTaskModule):
            distributed = trainer.world_size > 1
            any_rank = flags_on_any_rank(pl_module.reduction().sum, pl_module.device) if distributed else None
            state["train_metrics"] = pl_module.metrics.train_state(any_rank)
        checkpoint[RUN_STATE_KEY] = state

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        state = checkpoint.get(RUN_STATE_KEY)
        if trainer.state.fn != TrainerFn.FITTING or state is None:
            return
        self._rng = state["rng"]
        if state["should_stop"]:  # early stopping ended the fit: it stays ended, its last epoch counted
            trainer.should_stop = True  # as done, as Lightning counts it when max_epochs ends a fit
            progress = checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]
            progress["completed"] = progress["processed"]
        self.restored_metrics = dict(state["metrics"])
        if isinstance(pl_module, MultiTaskModule) and "train_metrics" in state and trainer.global_rank == 0:
            pl_module.metrics.load_train_state(state["train_metrics"])
        self.resumed_from = {
            "step": int(checkpoint["global_step"]),
            "epoch": int(checkpoint["epoch"]),
            "checkpoint": str(trainer.ckpt_path),
        }

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._rng is not None:
            restore_rng_states(self._rng)
            self._rng = None

    def summary_fields(self) -> dict[str, Any]:
        return {"resumed_from": self.resumed_from} if self.resumed_from else {}


def restored_metrics(callbacks: Iterable[Callback]) -> dict[str, Any]:
    """The values logged before the checkpoint a fit resumed from (empty for a fresh fit)."""
    for callback in callbacks:
        if isinstance(callback, RunState):
            return callback.restored_metrics
    return {}
