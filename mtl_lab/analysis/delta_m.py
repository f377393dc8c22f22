"""Δm%: the mean relative change of an MTL model's metrics against single-task baselines.

Maninis, Radosavovic & Kokkinos, "Attentive Single-Tasking of Multiple Tasks", CVPR 2019, and as
used by Nash-MTL (Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022):

    Δm% = 100 * (1/K) Σ_k (-1)^{l_k} (M_mtl,k - M_single,k) / M_single,k

over all K task metrics k, with l_k = 1 when a higher value of metric k is better. So Δm% < 0 means
the MTL model beats its single-task baselines on average; lower is better.

The metrics of a task that enter Δm% are all of its test metrics except the loss (classification:
accuracy, macro_f1; binary: accuracy, f1, auroc; multilabel: macro_f1, auroc; regression: mae, rmse),
with the direction its task kind declares (:func:`mtl_lab.names.metric_direction`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from mtl_lab.names import higher_is_better, task_metric_names


def delta_m(
    mtl: Mapping[str, float], baseline: Mapping[str, float], higher_is_better: Mapping[str, bool]
) -> float:
    """Δm% over the metrics named in ``higher_is_better``; every one must be in ``mtl`` and ``baseline``.

    >>> round(delta_m({"acc": 0.9, "mae": 1.0}, {"acc": 1.0, "mae": 2.0}, {"acc": True, "mae": False}), 6)
    -20.0
    """
    if not higher_is_better:
        raise ValueError("delta_m: no metrics")
    terms = []
    for name, higher in higher_is_better.items():
        m_mtl, m_single = float(mtl[name]), float(baseline[name])
        if m_single == 0:
            raise ValueError(f"delta_m: baseline of {name!r} is 0 (relative change undefined)")
        sign = -1.0 if higher else 1.0
        terms.append(sign * (m_mtl - m_single) / m_single)
    return 100.0 * sum(terms) / len(terms)


def run_delta_m(
    metrics: Mapping[str, float | None],
    tasks: list[str],
    baselines: Mapping[str, float],
    split: str = "test",
) -> float | None:
    """Δm% of one run, or None ("n/a") when a metric or its baseline is missing, non-finite or zero."""
    names = [name for task in tasks for name in task_metric_names(metrics, task, split)]
    if not names or any(not task_metric_names(metrics, task, split) for task in tasks):
        return None
    for name in names:
        value, base = metrics.get(name), baselines.get(name)
        if value is None or base is None or not math.isfinite(value) or not math.isfinite(base) or base == 0:
            return None
    directions = {name: higher_is_better(name) for name in names}
    return delta_m(
        {n: float(metrics[n]) for n in names},  # type: ignore[arg-type]
        {n: float(baselines[n]) for n in names},
        directions,
    )
