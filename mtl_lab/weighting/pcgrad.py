"""PCGrad: Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020.

Each g_i is projected onto the normal plane of every conflicting g_j (g_i . g_j < 0), the j in a random
order; the result sum_i g_i^PC = w^T J. Random (``seed``), so not permutation invariant. Missing tasks
are left out of the projections (one present task: weight 1). torchjd: ``PCGradWeighting``.
"""

from __future__ import annotations

from collections.abc import Mapping

from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting, register


@register
class PCGrad(TorchJDWeighting):
    """PCGrad (Yu et al. 2020): projection of conflicting gradients, in a seeded random order."""

    key = "pcgrad"
    torchjd_class = aggregation.PCGradWeighting
    permutation_invariant = False

    def __init__(
        self, tasks: Mapping[str, TaskSpec], seed: int | None = 0, grad_level: str = "representation"
    ) -> None:
        super().__init__(tasks, grad_level, {}, seed=seed)
