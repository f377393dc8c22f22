"""DualProj: the mean (or preference-weighted) gradient projected onto the dual cone of the task
gradients, Equation 11 of Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning",
NeurIPS 2017 (as an MTL aggregator in Quinton & Rey 2024). Missing tasks: the present tasks' mean (or
restricted preference) projected onto their dual cone. torchjd: ``DualProjWeighting``.
"""

from __future__ import annotations

from torchjd import aggregation

from mtl_lab.weighting.torchjd_adapter import PreferenceWeighting, register


@register
class DualProj(PreferenceWeighting):
    """DualProj (Lopez-Paz & Ranzato 2017): the combined gradient projected onto the dual cone."""

    key = "dualproj"
    torchjd_class = aggregation.DualProjWeighting
