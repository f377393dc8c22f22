"""Single-task baselines from runs (same data only, seeds averaged) and from a validated file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_runs import write_fake_run

from mtl_lab.analysis.baselines import baselines_from_runs, load_baselines_file
from mtl_lab.analysis.runs import discover_runs
from mtl_lab.errors import ConfigError

MTL = {"test/left/accuracy": 0.9, "test/sum/mae": 1.0}


def test_baselines_come_from_completed_single_task_runs_with_the_same_data(tmp_path: Path) -> None:
    write_fake_run(tmp_path / "mtl", MTL)
    write_fake_run(tmp_path / "left_s0", {"test/left/accuracy": 0.8, "test/left/loss": 0.5})
    write_fake_run(tmp_path / "left_s1", {"test/left/accuracy": 0.6})
    write_fake_run(tmp_path / "sum", {"test/sum/mae": 2.0})
    other = {"name": "multi_digits", "seed": "${seed}", "train_size": 512}
    write_fake_run(tmp_path / "sum_other_data", {"test/sum/mae": 99.0}, data=other)
    write_fake_run(tmp_path / "sum_failed", {"test/sum/mae": 50.0}, status="failed")
    write_fake_run(tmp_path / "right", {"test/right/accuracy": 0.5})  # a task the MTL run lacks
    runs = discover_runs([tmp_path])
    names = [r.path.name for r in runs]
    found = baselines_from_runs([runs[names.index("mtl")]], runs, names)
    assert found.values == pytest.approx({"test/left/accuracy": 0.7, "test/sum/mae": 2.0})
    assert sorted(found.sources) == ["left_s0", "left_s1", "sum"]


def test_baselines_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps({"test/left/accuracy": 0.8, "test/sum/mae": 2}))
    found = load_baselines_file(path)
    assert found.values == {"test/left/accuracy": 0.8, "test/sum/mae": 2.0} and found.sources == [str(path)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"--baselines: no such file '.*missing.json'$"),
        ("{not json", r"not valid JSON"),
        ("[]", r"expected a non-empty object"),
        ('{"val/left/accuracy": 0.8}', r"key 'val/left/accuracy' is not 'test/<task>/<metric>'"),
        (
            '{"test/left/acc": 0.8}',
            r"unknown metric 'acc'; choices: accuracy, auroc, entity_f1, entity_precision, entity_recall, f1, macro_f1, mae, rmse, token_accuracy",
        ),
        ('{"test/left/loss": 0.8}', r"unknown metric 'loss'"),
        ('{"test/left/accuracy": "high"}', r"test/left/accuracy: expected a finite number, got 'high'"),
        ('{"test/left/accuracy": 0}', r"test/left/accuracy: baseline is 0"),
    ],
)
def test_bad_baselines_file_is_a_one_line_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / ("missing.json" if content is None else "baselines.json")
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message) as err:
        load_baselines_file(path)
    assert "\n" not in str(err.value)
