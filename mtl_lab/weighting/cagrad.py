"""CAGrad: Liu et al., "Conflict-Averse Gradient Descent for Multi-task Learning", NeurIPS 2021.

d = g_0 + (sqrt(phi) / ||g_w||) g_w with g_0 the mean gradient, phi = c^2 ||g_0||^2 and
w = argmin_{w in simplex} g_w . g_0 + sqrt(phi) ||g_w|| (solved by cvxpy/Clarabel on the
trace-normalised Gramian). ``c`` >= 0 is the radius of the ball around g_0 (0: the mean). Missing tasks
are left out of g_0 and of the simplex (one present task: weight 1 + c). torchjd: ``CAGradWeighting``
(extra ``torchjd[cagrad]``).
"""

from __future__ import annotations

from collections.abc import Mapping

from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting, register


@register
class CAGrad(TorchJDWeighting):
    """CAGrad (Liu et al. 2021): the best worst-case improvement within a ball around the mean gradient."""

    key = "cagrad"
    torchjd_class = aggregation.CAGradWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        c: float = 0.4,
        norm_eps: float = 0.0001,
        grad_level: str = "representation",
    ) -> None:
        super().__init__(tasks, grad_level, {"c": c, "norm_eps": norm_eps})
