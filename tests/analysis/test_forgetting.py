"""Forgetting: a run started from another listed run (init_from) against it, on the tasks both trained."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from fake_runs import write_fake_run

from mtl_lab.analysis.forgetting import find_forgetting
from mtl_lab.analysis.runs import discover_runs
from mtl_lab.report import main, make_report

BEFORE = {"test/left/accuracy": 0.90, "test/left/macro_f1": 0.80, "test/sum/mae": 2.0, "test/sum/rmse": 2.5}
# left/accuracy drops 0.05 (forgotten), macro_f1 +0.1, mae 2.0 -> 1.5 is better (+0.5), rmse 2.5 -> 3.0 worse
AFTER = {
    "test/left/accuracy": 0.85,
    "test/left/macro_f1": 0.90,
    "test/sum/mae": 1.5,
    "test/sum/rmse": 3.0,
    "test/right/accuracy": 0.7,
    "test/right/macro_f1": 0.6,
}
EXPECTED = [
    ("left/accuracy", 0.90, 0.85, -0.05),
    ("left/macro_f1", 0.80, 0.90, 0.10),
    ("sum/mae", 2.0, 1.5, 0.5),
    ("sum/rmse", 2.5, 3.0, -0.5),
]


def started_from(run_dir: Path, source: Path) -> None:
    """Give the run's summary the ``init_from`` field ``mtl-train init_from=<source>`` writes."""
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text())
    summary["init_from"] = {"source": str(source), "run_dir": str(source.resolve()), "loaded": []}
    path.write_text(json.dumps(summary))


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    """``runs/source`` (left, sum) and ``runs/added`` (left, sum, right) started from it."""
    root = tmp_path / "runs"
    write_fake_run(root / "source", BEFORE)
    write_fake_run(root / "added", AFTER, ["init_from=runs/source"])
    started_from(root / "added", root / "source")
    return root


def test_rows_give_before_after_and_the_improvement_in_each_metrics_direction(pair: Path) -> None:
    forgetting = find_forgetting(discover_runs([pair]))
    rows = [(r.metric.removeprefix("test/"), r.before, r.after, r.improvement) for r in forgetting.rows]
    assert [r[:3] for r in rows] == [r[:3] for r in EXPECTED]
    assert [r[3] for r in rows] == pytest.approx([r[3] for r in EXPECTED])
    assert {(r.run, r.source) for r in forgetting.rows} == {("added", "source")}
    assert forgetting.notes == []


def test_report_writes_forgetting_csv_and_a_markdown_section(
    pair: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    main([str(pair), "--out", str(out)])
    with (out / "forgetting.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["run", "source", "metric", "before", "after", "improvement"]
    assert [(r["metric"], float(r["before"]), float(r["after"])) for r in rows] == [
        (f"test/{m}", b, a) for m, b, a, _ in EXPECTED
    ]
    assert float(rows[0]["improvement"]) == pytest.approx(-0.05)
    markdown = (out / "report.md").read_text()
    assert "| added | source | left/accuracy | 0.9000 | 0.8500 | -0.0500 |" in markdown
    assert "| added | source | sum/mae | 2.0000 | 1.5000 | +0.5000 |" in markdown
    printed = capsys.readouterr().out
    assert "added  source  left/accuracy  0.9000  0.8500  -0.0500" in printed
    assert str(out / "forgetting.csv") in printed
    # a later report without such a pair replaces the earlier one's forgetting.csv
    files = make_report([pair / "source"], out_dir=out)
    assert files.forgetting_csv is None and not (out / "forgetting.csv").exists()
    assert "Forgetting" not in files.markdown.read_text()


def test_sources_not_listed_failed_or_on_other_data_are_noted(pair: Path, tmp_path: Path) -> None:
    alone = find_forgetting(discover_runs([pair / "added"]))
    assert alone.rows == [] and alone.notes == [
        f"added: initialised from {(pair / 'source').resolve()}, which is not among the listed runs"
    ]
    other = {"name": "multi_digits", "seed": "${seed}", "train_size": 999}
    write_fake_run(tmp_path / "other", AFTER, data=other)
    started_from(tmp_path / "other", pair / "source")
    write_fake_run(tmp_path / "failed", {}, status="failed")
    started_from(tmp_path / "failed", pair / "source")
    forgetting = find_forgetting(discover_runs([pair / "source", tmp_path / "other", tmp_path / "failed"]))
    assert forgetting.notes == [
        "other: its data config differs from runs/source's (another test set?)",
        "failed: no forgetting rows, status failed (source runs/source: completed)",
    ]
    assert {r.run for r in forgetting.rows} == {"other"}
