"""Aligned-MTL: Senushkin et al., "Independent Component Alignment for Multi-Task Learning", CVPR 2023.

With G = V diag(lambda) V^T, the balance transformation B = sqrt(s) V diag(lambda)^-1/2 V^T makes the
aligned gradients orthogonal with equal norms; w = B p for the preference p (default 1/K). ``s`` is the
smallest (``min``), median or mean (``rmse``, the original code) eigenvalue. Weights can be negative.
Missing tasks: the transformation of the present tasks' sub-Gramian, p restricted to them (default 1/|P|;
one present task: its preference). torchjd: ``AlignedMTLWeighting``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting, preference_vector, register


@register
class AlignedMTL(TorchJDWeighting):
    """Aligned-MTL (Senushkin et al. 2023): gradients aligned to orthogonal, equal-norm components."""

    key = "aligned_mtl"
    torchjd_class = aggregation.AlignedMTLWeighting
    nonnegative = False

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        pref_vector: Mapping[str, float] | None = None,
        scale_mode: Literal["min", "median", "rmse"] = "min",
        grad_level: str = "representation",
    ) -> None:
        pref = preference_vector(self.key, tasks, pref_vector)
        super().__init__(tasks, grad_level, {"pref_vector": pref, "scale_mode": scale_mode})
