"""FairGrad: Ban & Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024.

alpha-fair utility maximisation: w solves G w = w^(-1/alpha) (scipy least squares, w >= 0).
``alpha`` = 1 is proportional fairness (Nash-MTL-like), 2 minimum potential delay, -> inf max-min.
Missing tasks: solved on the present tasks' sub-Gramian (one present task: w = G^(-alpha/(1+alpha))).
torchjd: ``FairGradWeighting`` (extra ``torchjd[fairgrad]``).
"""

from __future__ import annotations

from collections.abc import Mapping

from torchjd import aggregation

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting, register


@register
class FairGrad(TorchJDWeighting):
    """FairGrad (Ban & Ji 2024): alpha-fair allocation of the update between the tasks."""

    key = "fairgrad"
    torchjd_class = aggregation.FairGradWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        alpha: float = 1.0,
        max_iters: int | None = None,
        grad_level: str = "representation",
    ) -> None:
        if not alpha >= 0:
            raise ConfigError(f"weighting.alpha: must be >= 0, got {alpha}")
        super().__init__(tasks, grad_level, {"alpha": alpha, "max_iters": max_iters})
