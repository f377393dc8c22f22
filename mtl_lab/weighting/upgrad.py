"""UPGrad: Quinton & Rey, "Jacobian Descent for Multi-Objective Optimization", 2024.

Every g_k is projected onto the dual cone {x : G-row products >= 0} of all task gradients, and the
projections are combined with the preference p (default 1/K): a non-conflicting direction. Missing
tasks: the dual cone of the present tasks' gradients, p restricted to them (default 1/|P|).
torchjd: ``UPGradWeighting`` (quadprog).
"""

from __future__ import annotations

from torchjd import aggregation

from mtl_lab.weighting.torchjd_adapter import PreferenceWeighting, register


@register
class UPGrad(PreferenceWeighting):
    """UPGrad (Quinton & Rey 2024): each gradient projected onto the dual cone, then combined."""

    key = "upgrad"
    torchjd_class = aggregation.UPGradWeighting
