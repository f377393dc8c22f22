"""Seed groups: runs that differ only in seed are one row (mean ± sample std), Δm% from the means."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from fake_runs import write_fake_run, write_fake_seeds

from mtl_lab.analysis.comparison import Comparison, compare_runs
from mtl_lab.analysis.runs import discover_runs, run_names
from mtl_lab.analysis.seeds import group_runs, mean_std

# Two weightings, 3 seeds each: accuracy .90 .92 .94 (mean .92, sample std .02), mae 1.0 1.2 1.7
# (mean 1.3, sample std sqrt((.09 + .01 + .16) / 2)); accuracy .85 .85 .88 (mean .86, std sqrt(3e-4)).
MTL_A = [
    {"test/left/accuracy": 0.90, "test/sum/mae": 1.0},
    {"test/left/accuracy": 0.92, "test/sum/mae": 1.2},
    {"test/left/accuracy": 0.94, "test/sum/mae": 1.7},
]
MTL_B = [{"test/left/accuracy": a, "test/sum/mae": 1.5} for a in (0.85, 0.85, 0.88)]
# Single-task baselines, seeds 0-2: accuracy mean .82, mae mean 2.2; a 4th left seed no MTL run has.
STL_LEFT = [{"test/left/accuracy": a} for a in (0.80, 0.82, 0.84, 0.10)]
STL_SUM = [{"test/sum/mae": m} for m in (2.0, 2.2, 2.4)]


def write_sweep(root: Path) -> None:
    write_fake_seeds(root / "mtl", 0, MTL_A, ["weighting=a"])
    write_fake_seeds(root / "mtl", 3, MTL_B, ["weighting=b"])
    write_fake_seeds(root / "stl", 0, STL_LEFT, ["tasks=[left]"])
    write_fake_seeds(root / "stl", 4, STL_SUM, ["tasks=[sum]"])


def compare(root: Path) -> Comparison:
    return compare_runs(discover_runs([root]))


def test_runs_differing_only_in_seed_are_one_group_and_weightings_are_not(tmp_path: Path) -> None:
    write_sweep(tmp_path)
    runs = discover_runs([tmp_path])
    groups = group_runs(runs, run_names(runs))
    assert [g.name for g in groups] == ["mtl/{0,1,2}", "mtl/{3,4,5}", "stl/{0,1,2,3}", "stl/{4,5,6}"]
    assert [g.choices for g in groups] == [
        ["weighting=a"],
        ["weighting=b"],
        ["tasks=[left]"],
        ["tasks=[sum]"],
    ]


def test_a_config_difference_outside_the_overrides_separates_runs(tmp_path: Path) -> None:
    write_fake_run(tmp_path / "0", MTL_A[0], ["seed=0"])
    other = {"name": "multi_digits", "seed": "${seed}", "train_size": 512}
    write_fake_run(tmp_path / "1", MTL_A[1], ["seed=1"], data=other)
    runs = discover_runs([tmp_path])
    assert [g.names for g in group_runs(runs, run_names(runs))] == [["0"], ["1"]]


def test_runs_without_a_saved_config_are_grouped_by_their_choices_without_seed(tmp_path: Path) -> None:
    paths = write_fake_seeds(tmp_path, 0, MTL_A, ["weighting=a"])
    paths.append(write_fake_run(tmp_path / "3", MTL_B[0], ["weighting=b", "seed=0"]))
    for path in paths:
        (path / ".hydra" / "config.yaml").unlink()
    runs = discover_runs([tmp_path])
    assert [g.names for g in group_runs(runs, run_names(runs))] == [["0", "1", "2"], ["3"]]


def test_mean_std_is_the_sample_std_and_zero_for_one_value() -> None:
    assert mean_std([0.90, 0.92, 0.94]) == pytest.approx((0.92, 0.02))
    assert mean_std([0.7]) == (0.7, 0.0)


def test_rows_hold_means_sample_stds_and_seed_counts(tmp_path: Path) -> None:
    write_sweep(tmp_path)
    rows = {row.label: row for row in compare(tmp_path).rows}
    a, b = rows["weighting=a"], rows["weighting=b"]
    assert a.metrics == pytest.approx({"test/left/accuracy": 0.92, "test/sum/mae": 1.3})
    assert a.std == pytest.approx({"test/left/accuracy": 0.02, "test/sum/mae": math.sqrt(0.13)})
    assert b.std == pytest.approx({"test/left/accuracy": math.sqrt(3e-4), "test/sum/mae": 0.0})
    assert a.seeds == [0, 1, 2] and a.n_seeds == a.n_runs == 3
    assert (a.mean_rank, b.mean_rank) == (1.0, 2.0)  # ranked on the means
    assert rows["tasks=[left]"].n_seeds == 4 and rows["tasks=[left]"].delta_m is None


def test_delta_m_is_computed_from_the_means_against_seed_matched_averaged_baselines(tmp_path: Path) -> None:
    write_sweep(tmp_path)
    a = next(row for row in compare(tmp_path).rows if row.label == "weighting=a")
    # baselines: seeds 0-2 of each single-task setting (the data follow the seed), averaged
    expected = 100 / 2 * (-(0.92 - 0.82) / 0.82 + (1.3 - 2.2) / 2.2)
    assert a.delta_m == pytest.approx(expected)
    per_seed_mean = 100 / 2 * (-0.125 - 0.5 - 0.1 / 0.82 - 1 / 2.2 - 0.1 / 0.84 - 0.7 / 2.4) / 3
    assert abs(a.delta_m - per_seed_mean) > 0.1  # not the mean of per-seed Δm%
    assert a.baseline_sources == ["stl/0", "stl/1", "stl/2", "stl/4", "stl/5", "stl/6"]


def test_baselines_of_a_fixed_data_seed_average_every_single_task_seed(tmp_path: Path) -> None:
    fixed = {"name": "multi_digits", "seed": 7}
    write_fake_run(tmp_path / "mtl", MTL_A[0], ["seed=0"], data=fixed)
    for i, value in enumerate((0.80, 0.70)):
        write_fake_run(
            tmp_path / f"left{i}", {"test/left/accuracy": value}, ["tasks=[left]", f"seed={i}"], data=fixed
        )
    write_fake_run(tmp_path / "sum", {"test/sum/mae": 2.0}, ["tasks=[sum]"], data=fixed)
    mtl = next(row for row in compare(tmp_path).rows if row.is_mtl)
    assert mtl.delta_m == pytest.approx(100 / 2 * (-(0.90 - 0.75) / 0.75 + (1.0 - 2.0) / 2.0))


def test_a_diverged_seed_is_left_out_of_the_mean_counted_and_named(tmp_path: Path) -> None:
    bad = {"test/left/accuracy": 0.10, "test/sum/mae": 50.0}  # recorded before diverging: never averaged
    write_fake_seeds(
        tmp_path, 0, [*MTL_A[:2], bad, MTL_A[2]], ["weighting=a"], ["completed"] * 2 + ["diverged"]
    )
    comparison = compare(tmp_path)
    (row,) = comparison.rows
    assert row.status == "completed" and (row.n_seeds, row.n_runs) == (3, 4) and row.seeds == [0, 1, 3]
    assert row.metrics == pytest.approx({"test/left/accuracy": 0.92, "test/sum/mae": 1.3})
    assert "0,1,2,3: 3 of 4 seeds completed; left out of the mean: 2 (seed 2, diverged)" in comparison.notes


def test_a_group_where_no_seed_completed_keeps_its_status_and_no_values(tmp_path: Path) -> None:
    write_fake_seeds(tmp_path, 0, [{"val/left/accuracy": 0.1}] * 2, ["weighting=a"], ["diverged", "failed"])
    comparison = compare(tmp_path)
    (row,) = comparison.rows
    assert row.status == "diverged/failed" and row.metrics == {} and row.delta_m is None
    assert "0,1: status diverged/failed; no Δm% or rank" in comparison.notes


def test_a_seed_without_a_value_is_noted(tmp_path: Path) -> None:
    write_fake_seeds(tmp_path, 0, [MTL_A[0], {**MTL_A[1], "test/sum/mae": None}], ["weighting=a"])
    comparison = compare(tmp_path)
    assert comparison.rows[0].metrics["test/sum/mae"] == 1.0
    assert "0,1: averaged over the seeds that have a value: test/sum/mae (1 of 2)" in comparison.notes


def test_a_copied_run_directory_of_the_same_seed_stays_in_the_group(tmp_path: Path) -> None:
    (first,) = write_fake_seeds(tmp_path / "a", 0, MTL_A[:1], ["weighting=a"])
    shutil.copytree(first, tmp_path / "b" / "0")
    comparison = compare(tmp_path)
    (row,) = comparison.rows
    assert row.name == "a/0,b/0" and row.n_seeds == 2
    assert "a/0,b/0: seed 0 in several runs, each one averaged" in comparison.notes
    assert row.overrides == ["weighting=a", "seed=0"]  # one seed value: its override is kept
