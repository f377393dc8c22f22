"""UPGrad: Quinton & Rey, "Jacobian Descent for Multi-Objective Optimization", 2024.

Every g_k is projected onto the dual cone {x : G-row products >= 0} of all task gradients, and the
projections are combined with the preference p (default 1/K): a non-conflicting direction. Missing
tasks: the dual cone of the present tasks' gradients, p restricted to them (default 1/|P|).
torchjd: ``UPGradWeighting`` (quadprog).
"""

from __future__ import annotations

from collections.abc import Mapping

from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting, preference_vector, register


@register
class UPGrad(TorchJDWeighting):
    """UPGrad (Quinton & Rey 2024): each gradient projected onto the dual cone, then combined."""

    key = "upgrad"
    torchjd_class = aggregation.UPGradWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        pref_vector: Mapping[str, float] | None = None,
        grad_level: str = "representation",
    ) -> None:
        pref = preference_vector(self.key, tasks, pref_vector)
        super().__init__(tasks, grad_level, {"pref_vector": pref})
