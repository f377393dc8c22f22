"""DualProj: the mean (or preference-weighted) gradient projected onto the dual cone of the task
gradients, Equation 11 of Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning",
NeurIPS 2017 (as an MTL aggregator in Quinton & Rey 2024). Missing tasks: the present tasks' mean (or
restricted preference) projected onto their dual cone. torchjd: ``DualProjWeighting``.
"""

from __future__ import annotations

from collections.abc import Mapping

from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting, preference_vector, register


@register
class DualProj(TorchJDWeighting):
    """DualProj (Lopez-Paz & Ranzato 2017): the combined gradient projected onto the dual cone."""

    key = "dualproj"
    torchjd_class = aggregation.DualProjWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        pref_vector: Mapping[str, float] | None = None,
        grad_level: str = "representation",
    ) -> None:
        pref = preference_vector(self.key, tasks, pref_vector)
        super().__init__(tasks, grad_level, {"pref_vector": pref})
