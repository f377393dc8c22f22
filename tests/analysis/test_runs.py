"""Run discovery: single runs, multiruns, nesting, order, labels and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runs import write_fake_run

from mtl_lab.analysis.runs import Run, choice_labels, discover_runs, run_names
from mtl_lab.errors import ConfigError

METRICS = {"test/left/accuracy": 0.9}


def test_discovers_runs_and_multirun_jobs_at_any_depth_in_numeric_order(tmp_path: Path) -> None:
    sweep = tmp_path / "multirun" / "2026-11-22" / "10-00-00"
    for job in (0, 1, 2, 10):
        write_fake_run(sweep / str(job), METRICS, [f"seed={job}"])
    (sweep / "sweep_summary.json").write_text("{}")  # a sweep's own file is not a run
    single = write_fake_run(tmp_path / "single", METRICS, ["tasks=[left]"])
    runs = discover_runs([tmp_path / "multirun", single, sweep / "1"])  # job 1 reached twice
    assert [r.path.name for r in runs] == ["0", "1", "2", "10", "single"]
    assert runs[0].overrides == ["seed=0"] and runs[0].tasks == ["left"]
    assert runs[0].data == {"name": "multi_digits", "seed": 0, "train_size": 256}  # ${seed} resolved


def test_missing_directory_or_no_summary_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope: no such run or multirun directory$"):
        discover_runs([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"empty: no summary.json in it or below it"):
        discover_runs([tmp_path / "empty"])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "summary.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"summary.json: not a run summary"):
        discover_runs([tmp_path / "bad"])


def labels(runs: list[Run]) -> list[str]:
    return choice_labels([run.choices for run in runs])


def test_labels_are_the_differing_choices_without_hydra_and_paths(tmp_path: Path) -> None:
    common = ["trainer.max_epochs=2", "hydra.run.dir=x", "paths.log_dir=y"]
    a = write_fake_run(tmp_path / "a", METRICS, [*common, "weighting=gradnorm"])
    b = write_fake_run(tmp_path / "b", METRICS, [*common, "weighting=uncertainty", "seed=1"])
    c = write_fake_run(tmp_path / "c", METRICS, common)
    d = write_fake_run(tmp_path / "d", METRICS, [])
    runs = discover_runs([a, b, c, d])
    assert runs[0].choices == ["trainer.max_epochs=2", "weighting=gradnorm"]
    assert labels(runs[:3]) == [
        "weighting=gradnorm",
        "weighting=uncertainty seed=1",
        "(shared overrides)",
    ]
    assert labels(runs)[3] == "(defaults)"
    assert labels(runs[:1]) == ["trainer.max_epochs=2 weighting=gradnorm"]
    assert run_names(runs) == ["a", "b", "c", "d"]
