"""Forgetting: the old tasks' test metrics before and after a run that started from another listed run.

A run whose ``summary.json`` records ``init_from.run_dir`` (``mtl-train init_from=<run>``) is paired with
the listed run in that directory, its source. For every task both runs trained and every test metric of
it both recorded (the loss aside), a row gives ``before`` (the source's value, from the checkpoint the
run started from), ``after`` (the run's) and ``improvement``: ``after - before`` signed so that > 0 is
better in the metric's direction and < 0 is forgetting (``mtl_lab.names.higher_is_better``). A source
that is not among the listed runs, a run or source that did not complete, and a pair whose ``data``
configs differ (another test set) are named in the notes; the last pair still gets its rows.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mtl_lab.analysis.runs import Run, run_names
from mtl_lab.names import higher_is_better, task_metric_names

COMPLETED = "completed"
FORGETTING_FILE = "forgetting.csv"
COLUMNS = ["run", "source", "metric", "before", "after", "improvement"]
NA = "n/a"


@dataclass
class ForgettingRow:
    """One old task's metric (``test/<task>/<metric>``): its value in the source run and in the run."""

    run: str
    source: str
    metric: str
    before: float | None
    after: float | None

    @property
    def improvement(self) -> float | None:
        """``after - before`` in the metric's better direction (< 0: forgotten); None without both."""
        if self.before is None or self.after is None:
            return None
        change = self.after - self.before
        return change if higher_is_better(self.metric) else -change


@dataclass
class Forgetting:
    rows: list[ForgettingRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _source_dir(run: Run) -> Path | None:
    record = run.summary.get("init_from")
    run_dir = record.get("run_dir") if isinstance(record, dict) else None
    return Path(run_dir).resolve() if isinstance(run_dir, str) else None


def find_forgetting(runs: Sequence[Run]) -> Forgetting:
    """The rows of every listed run whose ``init_from`` source is also listed (module docstring)."""
    names = {run.path.resolve(): name for run, name in zip(runs, run_names(runs), strict=True)}
    by_dir = {run.path.resolve(): run for run in runs}
    result = Forgetting()
    for run in runs:
        source_dir = _source_dir(run)
        if source_dir is None:
            continue
        name = names[run.path.resolve()]
        source = by_dir.get(source_dir)
        if source is None:
            result.notes.append(f"{name}: initialised from {source_dir}, which is not among the listed runs")
            continue
        source_name = names[source_dir]
        if run.status != COMPLETED or source.status != COMPLETED:
            result.notes.append(
                f"{name}: no forgetting rows, status {run.status} (source {source_name}: {source.status})"
            )
            continue
        if run.data != source.data:
            result.notes.append(f"{name}: its data config differs from {source_name}'s (another test set?)")
        for task in (t for t in source.tasks if t in run.tasks):
            for metric in task_metric_names(source.metrics, task):
                before, after = source.metrics.get(metric), run.metrics.get(metric)
                result.rows.append(ForgettingRow(name, source_name, metric, before, after))
    return result


def _fmt(value: float | None, sign: str = "") -> str:
    return NA if value is None else f"{value:{sign}.4f}"


def _cells(row: ForgettingRow) -> list[str]:
    metric = row.metric.removeprefix("test/")
    return [row.run, row.source, metric, _fmt(row.before), _fmt(row.after), _fmt(row.improvement, "+")]


def format_forgetting(forgetting: Forgetting) -> str:
    """Aligned plain-text table (4 decimals), one row per old task metric."""
    table = [COLUMNS] + [_cells(row) for row in forgetting.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table)


def forgetting_markdown(forgetting: Forgetting) -> list[str]:
    """The ``report.md`` section: a table of the rows and the notes (nothing when there is neither)."""
    if not forgetting.rows and not forgetting.notes:
        return []
    lines = [
        "",
        "Forgetting (runs started from another listed run with init_from; test metrics of the tasks both "
        "trained, before = source run, after = this run; improvement > 0 is better, < 0 is forgetting):",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + " --- |" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in forgetting.rows]
    return lines + [f"- {note}" for note in forgetting.notes]


def write_forgetting_csv(forgetting: Forgetting, path: str | Path) -> Path:
    """``forgetting.csv``: the columns of the table, full-precision values (``repr``), ``n/a``."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in forgetting.rows:
            values = [row.before, row.after, row.improvement]
            writer.writerow(
                [row.run, row.source, row.metric, *(NA if v is None else repr(float(v)) for v in values)]
            )
    return path
