"""One comparison row per seed group: label, status, per-task test metrics, Δm% and mean rank.

Runs that differ only in ``seed`` are one row (:mod:`mtl_lab.analysis.seeds`): the mean of each metric
over the group's completed runs, its sample std (ddof=1; 0 for one seed), the seeds averaged
(``n_seeds``) and the runs in the group (``n_runs``; failed and diverged seeds are counted there and
named in the notes, never averaged). A run alone in its group is a row as before (``n_seeds`` 1).

Δm% (:mod:`mtl_lab.analysis.delta_m`, computed from the means) and mean rank
(:mod:`mtl_lab.analysis.ranks`, over the rows' means) are given to completed rows that trained more
than one task; single-task rows are the baselines, and rows with no completed run show their status
and whatever test metrics they recorded (usually none), never estimated ones. Missing values are None
("n/a").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_lab.analysis.baselines import Baselines, baselines_from_runs
from mtl_lab.analysis.delta_m import run_delta_m
from mtl_lab.analysis.ranks import mean_ranks
from mtl_lab.analysis.runs import Run, choice_labels, run_names
from mtl_lab.analysis.seeds import SeedGroup, group_runs, run_seed, seed_stats
from mtl_lab.names import higher_is_better, task_metric_names


@dataclass
class ReportRow:
    """A seed group: ``metrics`` are means over the runs with ``seeds``, ``std`` their sample stds;
    ``paths`` are every run of the group (``n_runs`` of them, failed ones included)."""

    name: str
    label: str
    overrides: list[str]
    status: str
    tasks: list[str]
    metrics: dict[str, float | None]
    paths: list[Path]
    std: dict[str, float | None]
    seeds: list[int | None]
    n_runs: int
    delta_m: float | None = None
    baseline_sources: list[str] = field(default_factory=list)
    mean_rank: float | None = None

    @property
    def is_mtl(self) -> bool:
        return len(self.tasks) > 1

    @property
    def n_seeds(self) -> int:
        """How many runs the values average."""
        return len(self.seeds)


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


def _group_row(group: SeedGroup, label: str, notes: list[str]) -> ReportRow:
    """The row of one seed group (without Δm% and rank); notes on left-out seeds and partial values."""
    averaged = group.averaged
    tasks = averaged[0].tasks
    recorded = dict.fromkeys(name for run in averaged for name in run.metrics)
    own = [name for task in tasks for name in task_metric_names(recorded, task)]
    stats = seed_stats(averaged, own)
    paths = [run.path for run in group.runs]
    seeds = [run_seed(run) for run in averaged]
    row = ReportRow(
        group.name, label, group.choices, group.status, tasks, stats.mean, paths, stats.std, seeds, len(paths)
    )
    if (failure := group.failure_note()) is not None:
        notes.append(failure)
    repeated = sorted({str(s) for s in seeds if seeds.count(s) > 1})
    if repeated:
        notes.append(f"{row.name}: seed {', '.join(repeated)} in several runs, each one averaged")
    partial = [
        f"{n} ({stats.count[n]} of {len(averaged)})" for n in own if 0 < stats.count[n] < len(averaged)
    ]
    if partial:
        notes.append(f"{row.name}: averaged over the seeds that have a value: {', '.join(partial)}")
    return row


def compare_runs(runs: Sequence[Run], baselines_file: Baselines | None = None) -> Comparison:
    """Rows for the seed groups of ``runs`` with Δm% of their means against ``baselines_file``, else
    against the single-task runs among them that share the data of the averaged runs."""
    names = run_names(runs)
    groups = group_runs(runs, names)
    labels = choice_labels([group.choices for group in groups])
    columns = metric_columns(runs)
    notes: list[str] = []
    rows = []
    for group, label in zip(groups, labels, strict=True):
        row = _group_row(group, label, notes)
        if row.is_mtl and row.status == "completed":
            baselines = baselines_file or baselines_from_runs(group.averaged, runs, names)
            row.delta_m = run_delta_m(row.metrics, row.tasks, baselines.values)
            row.baseline_sources = baselines.sources if row.delta_m is not None else []
            if row.delta_m is None:
                wanted = [n for t in row.tasks for n in task_metric_names(row.metrics, t)]
                missing = [n for n in wanted if n not in baselines.values] or ["(metric values)"]
                notes.append(f"{row.name}: Δm% n/a, no baseline for {', '.join(missing)}")
        elif row.status != "completed":
            notes.append(f"{row.name}: status {row.status}; no Δm% or rank")
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
