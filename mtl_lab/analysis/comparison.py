"""One comparison row per run: label, status, per-task test metrics, Δm% and mean rank.

Δm% (:mod:`mtl_lab.analysis.delta_m`) and mean rank (:mod:`mtl_lab.analysis.ranks`) are given to
completed runs that trained more than one task; single-task runs are the baselines, and failed or
diverged runs show their status and whatever test metrics they recorded (usually none), never
estimated ones. Missing values are None ("n/a").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_lab.analysis.baselines import Baselines, baselines_from_runs
from mtl_lab.analysis.delta_m import run_delta_m
from mtl_lab.analysis.ranks import mean_ranks
from mtl_lab.analysis.runs import Run, run_labels, run_names
from mtl_lab.names import higher_is_better, task_metric_names


@dataclass
class ReportRow:
    name: str
    label: str
    overrides: list[str]
    status: str
    tasks: list[str]
    metrics: dict[str, float | None]
    path: Path
    delta_m: float | None = None
    baseline_sources: list[str] = field(default_factory=list)
    mean_rank: float | None = None

    @property
    def is_mtl(self) -> bool:
        return len(self.tasks) > 1


@dataclass
class Comparison:
    rows: list[ReportRow]
    columns: list[str]  # full metric names, task by task
    notes: list[str]
    #: Each task's description from the first summary that has it (kind, outputs, class names, labelled).
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)


def metric_columns(runs: Sequence[Run]) -> list[str]:
    """Every ``test/<task>/<metric>`` (loss aside) of any run, grouped by task in order of appearance."""
    columns: list[str] = []
    for run in runs:
        for task in run.tasks:
            for name in task_metric_names(run.metrics, task):
                if name not in columns:
                    columns.append(name)
    tasks = list(dict.fromkeys(name.split("/")[1] for name in columns))
    return sorted(columns, key=lambda n: (tasks.index(n.split("/")[1]), n))


def compare_runs(runs: Sequence[Run], baselines_file: Baselines | None = None) -> Comparison:
    """Rows for ``runs`` with Δm% against ``baselines_file``, else against single-task runs among them."""
    names, labels = run_names(runs), run_labels(runs)
    columns = metric_columns(runs)
    notes: list[str] = []
    rows = []
    for run, name, label in zip(runs, names, labels, strict=True):
        metrics = {c: run.metrics.get(c) for c in columns if c.split("/")[1] in run.tasks}
        row = ReportRow(name, label, run.choices, run.status, run.tasks, metrics, run.path)
        if row.is_mtl and row.status == "completed":
            baselines = baselines_file or baselines_from_runs(run, runs, names)
            row.delta_m = run_delta_m(run.metrics, run.tasks, baselines.values)
            row.baseline_sources = baselines.sources if row.delta_m is not None else []
            if row.delta_m is None:
                wanted = [n for t in run.tasks for n in task_metric_names(run.metrics, t)]
                missing = [n for n in wanted if n not in baselines.values] or ["(metric values)"]
                notes.append(f"{name}: Δm% n/a, no baseline for {', '.join(missing)}")
        elif row.status != "completed":
            notes.append(f"{name}: status {row.status}; no Δm% or rank")
        rows.append(row)
    ranked = [row for row in rows if row.is_mtl and row.status == "completed"]
    directions = {c: higher_is_better(c) for c in columns}
    for row, rank in zip(ranked, mean_ranks([r.metrics for r in ranked], directions), strict=True):
        row.mean_rank = rank
    tasks: dict[str, dict[str, Any]] = {}
    for run in runs:
        for task, description in run.summary.get("tasks", {}).items():
            tasks.setdefault(task, description)
    return Comparison(rows, columns, notes, tasks)
