"""Starting a run from another one: ``init_from`` (initialise from a run's checkpoint) and ``freeze``."""

from mtl_lab.transfer.freeze import FreezeReport, FrozenModules, check_gradient_level, freeze_model
from mtl_lab.transfer.freeze_paths import FreezeTargets, resolve_freeze_paths
from mtl_lab.transfer.init_from import InitFromRecord, TransferReport, initialise_from
from mtl_lab.transfer.run_setup import TRANSFER_KEYS, transfer_callbacks
from mtl_lab.transfer.source import TransferSource, load_source

__all__ = [
    "TRANSFER_KEYS",
    "FreezeReport",
    "FreezeTargets",
    "FrozenModules",
    "InitFromRecord",
    "TransferReport",
    "TransferSource",
    "check_gradient_level",
    "freeze_model",
    "initialise_from",
    "load_source",
    "resolve_freeze_paths",
    "transfer_callbacks",
]
