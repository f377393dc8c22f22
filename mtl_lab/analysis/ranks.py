"""Mean rank: each run's rank per metric among the compared runs, averaged over the metrics.

For every metric, the runs that have a finite value are ranked 1 (best) to n in the metric's direction;
tied values share the mean of the ranks they span (1, 2.5, 2.5, 4). A run without a value for a metric
(that task not trained, no test result) is not ranked on it; its mean rank averages the metrics it has,
and is None ("n/a") when it has none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def metric_ranks(values: Sequence[float | None], higher_is_better: bool) -> list[float | None]:
    """Fractional ranks (1 = best) of the finite values; None where the value is missing.

    >>> metric_ranks([0.9, None, 0.8, 0.9], higher_is_better=True)
    [1.5, None, 3.0, 1.5]
    """
    present = sorted(
        (i for i, v in enumerate(values) if v is not None and math.isfinite(v)),
        key=lambda i: -values[i] if higher_is_better else values[i],  # type: ignore[operator]
    )
    ranks: list[float | None] = [None] * len(values)
    start = 0
    while start < len(present):
        end = start
        while end + 1 < len(present) and values[present[end + 1]] == values[present[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for i in present[start : end + 1]:
            ranks[i] = shared
        start = end + 1
    return ranks


def mean_ranks(
    rows: Sequence[Mapping[str, float | None]], higher_is_better: Mapping[str, bool]
) -> list[float | None]:
    """Mean over the metrics in ``higher_is_better`` of each row's rank among ``rows``."""
    per_row: list[list[float]] = [[] for _ in rows]
    for name, higher in higher_is_better.items():
        for i, rank in enumerate(metric_ranks([row.get(name) for row in rows], higher)):
            if rank is not None:
                per_row[i].append(rank)
    return [sum(r) / len(r) if r else None for r in per_row]
