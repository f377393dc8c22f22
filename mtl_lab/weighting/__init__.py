"""Loss-weighting strategies: one file per strategy, registered by name in :data:`WEIGHTINGS`; the
Gramian-based ones share the torchjd adapter (:mod:`mtl_lab.weighting.torchjd_adapter`)."""

from mtl_lab.weighting import (  # noqa: F401  (each registers its torchjd-backed strategy)
    aligned_mtl,
    cagrad,
    dualproj,
    fairgrad,
    gradvac,
    imtl_g,
    mgda,
    nash_mtl,
    pcd,
    pcgrad,
    upgrad,
)
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput
from mtl_lab.weighting.dbmtl import DBMTLWeighting
from mtl_lab.weighting.dwa import DWAWeighting
from mtl_lab.weighting.famo import FAMOWeighting
from mtl_lab.weighting.fixed import FixedWeighting
from mtl_lab.weighting.gradnorm import GradNormWeighting
from mtl_lab.weighting.rlw import RandomLossWeighting
from mtl_lab.weighting.scale_invariant import ScaleInvariantWeighting
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting
from mtl_lab.weighting.uncertainty import UncertaintyWeighting

__all__ = [
    "WEIGHTINGS",
    "DBMTLWeighting",
    "DWAWeighting",
    "FAMOWeighting",
    "FixedWeighting",
    "GradNormWeighting",
    "GradientStats",
    "RandomLossWeighting",
    "ScaleInvariantWeighting",
    "TorchJDWeighting",
    "UncertaintyWeighting",
    "Weighting",
    "WeightingOutput",
]
