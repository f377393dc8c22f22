"""Loss-weighting strategies: one file per family, registered by name in :data:`WEIGHTINGS`."""

from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput
from mtl_lab.weighting.dbmtl import DBMTLWeighting
from mtl_lab.weighting.dwa import DWAWeighting
from mtl_lab.weighting.famo import FAMOWeighting
from mtl_lab.weighting.fixed import FixedWeighting
from mtl_lab.weighting.gradnorm import GradNormWeighting
from mtl_lab.weighting.gramian import TorchJDWeighting
from mtl_lab.weighting.rlw import RandomLossWeighting
from mtl_lab.weighting.scale_invariant import ScaleInvariantWeighting
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
