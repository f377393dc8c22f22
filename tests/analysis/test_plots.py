"""Coefficient trajectories are read from the CSV logger's train/weight/<task> columns."""

from __future__ import annotations

from pathlib import Path

from fake_runs import write_fake_run

from mtl_lab.analysis.plots import read_weight_trajectories


def test_weight_trajectories_skip_rows_without_weights(tmp_path: Path) -> None:
    run = write_fake_run(
        tmp_path / "run",
        {"test/left/accuracy": 0.9, "test/sum/mae": 1.0},
        weights_csv={"left": [1.0, 0.5], "sum": [1.0, 2.0]},
    )
    trajectories = read_weight_trajectories(run / "csv" / "metrics.csv")
    assert trajectories == {"left": ([0, 10], [1.0, 0.5]), "sum": ([0, 10], [1.0, 2.0])}
