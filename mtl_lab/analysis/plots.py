"""PNG figures of a comparison: per-task metric bars by run, and coefficient trajectories over steps.

``metrics_<task>.png``: one panel per metric of the task, one bar per run that has a value
(single-task runs in gray).
``weights.png``: one panel per task, the coefficient ``train/weight/<task>`` of every multi-task run
against the training step, read from the run's ``csv/metrics.csv`` (runs without it are skipped and
named in the returned notes). Figures are drawn with matplotlib's object API (no pyplot, no display).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from matplotlib.figure import Figure

from mtl_lab.analysis.comparison import Comparison, ReportRow
from mtl_lab.names import WEIGHT_PREFIX, weight


def _tick_labels(rows: list[ReportRow]) -> list[str]:
    labels = [row.label for row in rows]
    return labels if len(set(labels)) == len(labels) else [row.name for row in rows]


def plot_metric_bars(comparison: Comparison, out_dir: Path) -> list[Path]:
    """One figure per task; returns the files written."""
    tasks = list(dict.fromkeys(c.split("/")[1] for c in comparison.columns))
    ticks = dict(zip((r.name for r in comparison.rows), _tick_labels(comparison.rows), strict=True))
    written = []
    for task in tasks:
        columns = [c for c in comparison.columns if c.split("/")[1] == task]
        fig = Figure(figsize=(max(4.0, 3.2 * len(columns)), 4.0), layout="constrained")
        for i, column in enumerate(columns):
            ax = fig.add_subplot(1, len(columns), i + 1)
            rows = [r for r in comparison.rows if r.metrics.get(column) is not None]
            colors = ["tab:blue" if r.is_mtl else "tab:gray" for r in rows]  # gray: single-task runs
            ax.bar(range(len(rows)), [r.metrics[column] for r in rows], color=colors)
            labels = [ticks[r.name] for r in rows]
            ax.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=7)
            ax.set_title(column.split("/")[-1])
        fig.suptitle(f"test metrics: {task}")
        path = out_dir / f"metrics_{task}.png"
        fig.savefig(path, dpi=100)
        written.append(path)
    return written


def read_weight_trajectories(metrics_csv: Path) -> dict[str, tuple[list[int], list[float]]]:
    """``{task: (steps, coefficients)}`` from a CSV logger file's ``train/weight/<task>`` columns."""
    trajectories: dict[str, tuple[list[int], list[float]]] = {}
    with metrics_csv.open(newline="") as handle:
        for record in csv.DictReader(handle):
            for column, value in record.items():
                if column and column.startswith(WEIGHT_PREFIX) and value not in ("", None):
                    number = float(value)
                    if math.isfinite(number):
                        steps, values = trajectories.setdefault(column[len(WEIGHT_PREFIX) :], ([], []))
                        steps.append(int(float(record["step"])))
                        values.append(number)
    return trajectories


def plot_weight_trajectories(comparison: Comparison, out_dir: Path) -> tuple[Path | None, list[str]]:
    """``weights.png`` for the multi-task runs with a ``csv/metrics.csv``; (None, notes) if there are none."""
    notes: list[str] = []
    curves: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    ticks = dict(zip((r.name for r in comparison.rows), _tick_labels(comparison.rows), strict=True))
    for row in comparison.rows:
        if not row.is_mtl:
            continue
        metrics_csv = row.path / "csv" / "metrics.csv"
        if not metrics_csv.is_file():
            notes.append(f"{row.name}: no csv/metrics.csv, left out of weights.png")
            continue
        trajectories = read_weight_trajectories(metrics_csv)
        if not trajectories:
            notes.append(f"{row.name}: no train/weight/<task> columns in csv/metrics.csv")
        for task, curve in trajectories.items():
            curves.setdefault(task, {})[ticks[row.name]] = curve
    if not curves:
        return None, notes
    fig = Figure(figsize=(4.5 * len(curves), 3.6), layout="constrained")
    for i, (task, by_run) in enumerate(curves.items()):
        ax = fig.add_subplot(1, len(curves), i + 1)
        for label, (steps, values) in by_run.items():
            ax.plot(steps, values, label=label, linewidth=1.2)
        ax.set_title(weight(task))
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    path = out_dir / "weights.png"
    fig.savefig(path, dpi=100)
    return path, notes
