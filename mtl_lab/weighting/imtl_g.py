"""IMTL-G: Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021.

The aggregated gradient has equal projections on every unit task gradient u_k = g_k / ||g_k||:
w = G^+ d / sum(G^+ d) with d_k = ||g_k|| (torchjd's generalisation to linearly dependent rows).
Sums to one (over the present tasks when some are missing; one present task: 1, or 0 for a zero
gradient); weights can be negative. torchjd: ``IMTLGWeighting``.
"""

from __future__ import annotations

from collections.abc import Mapping

from torchjd import aggregation

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import TorchJDWeighting, register


@register
class IMTLG(TorchJDWeighting):
    """IMTL-G (Liu et al. 2021): equal projections of the update on every unit task gradient."""

    key = "imtl_g"
    torchjd_class = aggregation.IMTLGWeighting
    normalization = "sum_to_one"
    nonnegative = False

    def __init__(self, tasks: Mapping[str, TaskSpec], grad_level: str = "representation") -> None:
        super().__init__(tasks, grad_level, {})
