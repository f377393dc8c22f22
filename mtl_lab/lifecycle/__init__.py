"""A run's life across processes: checkpoints to resume from, their RNG and metric state, ``resume=``."""

from mtl_lab.lifecycle.atomic_checkpoint_io import AtomicCheckpointIO, use_atomic_checkpoints
from mtl_lab.lifecycle.last_checkpoint import LAST_CHECKPOINT, LastCheckpoint
from mtl_lab.lifecycle.resume_command import resume_argv
from mtl_lab.lifecycle.run_setup import (
    LIFECYCLE_KEYS,
    last_checkpoint_path,
    lifecycle_callbacks,
    prepare_resume,
)
from mtl_lab.lifecycle.run_state import RUN_STATE_KEY, RunState, restored_metrics

__all__ = [
    "LAST_CHECKPOINT",
    "LIFECYCLE_KEYS",
    "RUN_STATE_KEY",
    "AtomicCheckpointIO",
    "LastCheckpoint",
    "RunState",
    "last_checkpoint_path",
    "lifecycle_callbacks",
    "prepare_resume",
    "restored_metrics",
    "resume_argv",
    "use_atomic_checkpoints",
]
