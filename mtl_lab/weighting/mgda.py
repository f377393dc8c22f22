"""MGDA-UB: Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018.

w = argmin_{w in simplex} w^T G w (min-norm point of the convex hull of the gradients), by Frank-Wolfe
(Algorithm 2) until the step falls below ``epsilon`` or ``max_iters``. Sums to one (over the present
tasks when some are missing; one present task: 1). torchjd: ``MGDAWeighting``.
"""

from __future__ import annotations

from collections.abc import Mapping

from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting, register


@register
class MGDA(TorchJDWeighting):
    """MGDA-UB (Sener & Koltun 2018): the min-norm convex combination of the task gradients."""

    key = "mgda"
    torchjd_class = aggregation.MGDAWeighting
    normalization = "sum_to_one"

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        epsilon: float = 0.001,
        max_iters: int = 100,
        grad_level: str = "representation",
    ) -> None:
        super().__init__(tasks, grad_level, {"epsilon": epsilon, "max_iters": max_iters})
