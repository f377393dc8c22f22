"""Mean rank: direction, ties, missing values."""

from __future__ import annotations

import pytest

from mtl_lab.analysis.ranks import mean_ranks, metric_ranks


def test_metric_ranks_follow_the_direction_and_share_ties() -> None:
    assert metric_ranks([0.9, 0.7, 0.9, 0.8], higher_is_better=True) == [1.5, 4.0, 1.5, 3.0]
    assert metric_ranks([0.9, 0.7, 0.9, 0.8], higher_is_better=False) == [3.5, 1.0, 3.5, 2.0]
    assert metric_ranks([1.0, 1.0, 1.0], higher_is_better=True) == [2.0, 2.0, 2.0]


def test_missing_and_non_finite_values_are_not_ranked() -> None:
    assert metric_ranks([None, 2.0, float("nan"), 1.0], higher_is_better=False) == [None, 2.0, None, 1.0]


def test_mean_ranks_average_the_metrics_a_run_has() -> None:
    rows = [
        {"test/a/accuracy": 0.9, "test/b/mae": 2.0},
        {"test/a/accuracy": 0.8, "test/b/mae": 1.0},
        {"test/a/accuracy": 0.7},  # b not trained: ranked on accuracy only
        {},
    ]
    ranks = mean_ranks(rows, {"test/a/accuracy": True, "test/b/mae": False})
    assert ranks == [pytest.approx(1.5), pytest.approx(1.5), 3.0, None]
