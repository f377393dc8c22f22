"""Metric bars (error bars over seeds, value labels, axis limits from the data) and coefficient
trajectories read from the CSV logger's train/weight/<task> columns."""

from __future__ import annotations

from pathlib import Path

from fake_runs import write_fake_run, write_fake_seeds
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer

from mtl_lab.analysis.comparison import compare_runs
from mtl_lab.analysis.plots import (
    metric_figure,
    plot_weight_trajectories,
    read_weight_trajectories,
    value_limits,
)
from mtl_lab.analysis.runs import discover_runs


def test_weight_trajectories_skip_rows_without_weights(tmp_path: Path) -> None:
    run = write_fake_run(
        tmp_path / "run",
        {"test/left/accuracy": 0.9, "test/sum/mae": 1.0},
        weights_csv={"left": [1.0, 0.5], "sum": [1.0, 2.0]},
    )
    trajectories = read_weight_trajectories(run / "csv" / "metrics.csv")
    assert trajectories == {"left": ([0, 10], [1.0, 0.5]), "sum": ([0, 10], [1.0, 2.0])}


def bars_axes(tmp_path: Path, per_setting: dict[str, list[float]]) -> Axes:
    """The accuracy panel of metrics_left for one seed group per weighting with these accuracies."""
    job = 0
    for weighting, accuracies in per_setting.items():
        metrics = [{"test/left/accuracy": a, "test/sum/mae": 1.0} for a in accuracies]
        write_fake_seeds(tmp_path, job, metrics, [f"weighting={weighting}"])
        job += len(accuracies)
    return metric_figure(compare_runs(discover_runs([tmp_path])), "left").axes[0]


def test_bars_have_error_bars_value_labels_and_a_truncated_axis_that_says_so(tmp_path: Path) -> None:
    ax = bars_axes(tmp_path, {"a": [0.93, 0.94, 0.95], "b": [0.98, 0.99, 1.0]})
    assert any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    assert sorted(t.get_text() for t in ax.texts) == ["0.94", "0.99"]
    bottom, top = ax.get_ylim()
    assert bottom > 0.5 and (0.99 - 0.94) / (top - bottom) > 0.2  # a 5-point difference is visible
    assert top >= 1.0 + 0.01  # the upper error bar and its label fit
    assert f"y-axis from {bottom:.4g}, not 0" in ax.get_title()


def test_one_seed_per_setting_has_no_error_bars(tmp_path: Path) -> None:
    ax = bars_axes(tmp_path, {"a": [0.94], "b": [0.99]})
    assert not any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    assert len(ax.texts) == 2 and ax.get_ylim()[0] > 0.5


def test_data_near_zero_start_at_zero_without_a_truncation_note() -> None:
    assert value_limits([0.1, 0.6], [0.1, 0.6])[::2] == (0.0, False)
    bottom, top, truncated = value_limits([0.94, 0.99], [0.94, 0.99])
    assert truncated and 0.9 < bottom < 0.94 and top > 0.99
    assert value_limits([2.0], [2.0])[2]  # one value: a range around it, not from 0


def test_weight_trajectories_of_a_seed_group_note_the_seeds_without_a_csv(tmp_path: Path) -> None:
    for seed in range(3):
        weights = {"left": [1.0, 0.5], "sum": [1.0, 2.0]} if seed < 2 else None
        write_fake_run(
            tmp_path / str(seed),
            {"test/left/accuracy": 0.9, "test/sum/mae": 1.0},
            [f"seed={seed}"],
            weights_csv=weights,
        )
    path, notes = plot_weight_trajectories(compare_runs(discover_runs([tmp_path])), tmp_path)
    assert path == tmp_path / "weights.png" and path.is_file()
    assert notes == ["0,1,2: 1 of 3 runs have no csv/metrics.csv"]
