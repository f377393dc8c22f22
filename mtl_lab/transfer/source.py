"""``init_from``: where the weights come from, a run directory or a checkpoint file, and its model state.

A run directory resolves to its best checkpoint as ``mtl-eval ckpt=best`` does
(:func:`mtl_lab.evaluation.resolve_checkpoint`), or to ``checkpoints/last.ckpt`` when the run kept no
best one. The checkpoint is read with ``torch.load(weights_only=True)``
(:func:`mtl_lab.evaluation.load_state_dict`) and older key layouts are upgraded
(:func:`mtl_lab.models.model.upgrade_state_dict`); only the model's tensors (``model.*``) are kept:
a weighting's state, the optimizer's and the scheduler's are never transferred.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from mtl_lab.errors import ConfigError
from mtl_lab.models.model import upgrade_state_dict
from mtl_lab.summary import SUMMARY_FILE

MODEL_PREFIX = "model."


@dataclass
class TransferSource:
    """``source`` as given; the ``checkpoint`` read; the ``run_dir`` it belongs to (None for a checkpoint
    outside a run directory); ``state``: the model's tensors, named as in ``MultiTaskModel.state_dict()``."""

    source: str
    checkpoint: Path
    run_dir: Path | None
    state: dict[str, Tensor]


def _run_of_checkpoint(checkpoint: Path) -> Path | None:
    run_dir = checkpoint.resolve().parent.parent
    is_run = checkpoint.resolve().parent.name == "checkpoints" and (run_dir / SUMMARY_FILE).is_file()
    return run_dir if is_run else None


def _run_checkpoint(run_dir: Path) -> Path:
    # imported here: mtl_lab.evaluation imports mtl_lab.experiment, which imports this package
    from mtl_lab.evaluation import resolve_checkpoint

    found = sorted((run_dir / "checkpoints").glob("*.ckpt"))
    if not found:
        raise ConfigError(
            f"init_from: {run_dir} is neither a checkpoint file nor a run directory with checkpoints "
            f"(no {run_dir / 'checkpoints'}/*.ckpt)"
        )
    has_best = any(not p.stem.startswith("last") for p in found)
    try:
        return resolve_checkpoint(run_dir, "best" if has_best else "last")
    except ConfigError:
        names = ", ".join(p.name for p in found)
        raise ConfigError(
            f"init_from: {run_dir}: no single best checkpoint among {names}; pass one as init_from=<file>"
        ) from None


def load_source(value: str) -> TransferSource:
    """The checkpoint that ``init_from=value`` names and its model state; one-line errors."""
    from mtl_lab.evaluation import load_state_dict  # here for the same reason as resolve_checkpoint

    path = Path(value)
    if not path.exists():
        raise ConfigError(f"init_from: no such run directory or checkpoint file {value!r}")
    checkpoint = _run_checkpoint(path) if path.is_dir() else path
    run_dir = path.resolve() if path.is_dir() else _run_of_checkpoint(path)
    try:
        state = upgrade_state_dict(load_state_dict(checkpoint))
    except ConfigError as err:
        raise ConfigError(f"init_from: {str(err).removeprefix('ckpt: ')}") from None
    model_state = {k.removeprefix(MODEL_PREFIX): v for k, v in state.items() if k.startswith(MODEL_PREFIX)}
    if not model_state:
        raise ConfigError(f"init_from: {checkpoint}: no model tensors (model.*); not an mtl_lab checkpoint")
    return TransferSource(source=value, checkpoint=checkpoint.resolve(), run_dir=run_dir, state=model_state)
