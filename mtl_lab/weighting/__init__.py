"""Loss-weighting strategies: one file per family, registered by name in :data:`WEIGHTINGS`."""

from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput
from mtl_lab.weighting.fixed import FixedWeighting
from mtl_lab.weighting.gradnorm import GradNormWeighting
from mtl_lab.weighting.gramian import TorchJDWeighting
from mtl_lab.weighting.uncertainty import UncertaintyWeighting

__all__ = [
    "WEIGHTINGS",
    "FixedWeighting",
    "GradNormWeighting",
    "GradientStats",
    "TorchJDWeighting",
    "UncertaintyWeighting",
    "Weighting",
    "WeightingOutput",
]
