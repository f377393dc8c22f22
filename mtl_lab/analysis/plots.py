"""PNG figures of a comparison: per-task metric bars by row, and coefficient trajectories over steps.

``metrics_<task>.png``: one panel per metric of the task, one bar per row that has a value
(single-task rows in gray): the mean over the row's seeds, an error bar of ± its sample std where a
row averages several seeds, and the value written above the bar. The y-axis spans the data (error bars
included) with padding, so that a difference of a point is visible; it starts at 0 only when the
data are near 0 (closer to 0 than their range), and otherwise says in the panel title where it starts.
``weights.png``: one panel per task, the coefficient ``train/weight/<task>`` of every multi-task run
against the training step, read from the run's ``csv/metrics.csv`` (one colour per row, one line per
seed; rows without it are skipped and named in the returned notes). Figures are drawn with
matplotlib's object API (no pyplot, no display).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mtl_lab.analysis.comparison import Comparison, ReportRow
from mtl_lab.names import WEIGHT_PREFIX, weight

#: Padding below the data and room above it (for the value labels), as fractions of the data range.
PAD_BELOW, ROOM_ABOVE = 0.15, 0.3


def _tick_labels(rows: list[ReportRow]) -> list[str]:
    labels = [row.label for row in rows]
    return labels if len(set(labels)) == len(labels) else [row.name for row in rows]


def value_limits(lows: Sequence[float], highs: Sequence[float]) -> tuple[float, float, bool]:
    """``(bottom, top, truncated)`` for bars reaching ``lows``..``highs`` (non-empty): the data range
    padded; from 0 when the data are non-negative and nearer 0 than their range; ``truncated`` when
    the axis leaves 0 out.

    >>> bottom, top, truncated = value_limits([0.94, 0.99], [0.94, 0.99])
    >>> round(bottom, 4), round(top, 4), truncated
    (0.9325, 1.005, True)
    """
    low, high = min(lows), max(highs)
    span = high - low or abs(high) * 0.1 or 1.0
    bottom, top = low - PAD_BELOW * span, high + ROOM_ABOVE * span
    if 0.0 <= low <= span:
        bottom = 0.0
    return bottom, top, not bottom <= 0.0 <= top


def draw_metric_panel(ax: Axes, rows: Sequence[ReportRow], column: str, ticks: dict[str, str]) -> None:
    """Bars of ``column`` for the rows that have it: means, ± std error bars, value labels, limits."""
    rows = [r for r in rows if r.metrics.get(column) is not None]
    metric = column.split("/")[-1]
    ax.set_title(metric)
    if not rows:
        return
    means = [float(r.metrics[column]) for r in rows]  # type: ignore[arg-type]
    stds = [float(r.std.get(column) or 0.0) for r in rows]
    several = any(r.n_seeds > 1 for r in rows)
    colors = ["tab:blue" if r.is_mtl else "tab:gray" for r in rows]  # gray: single-task runs
    bars = ax.bar(range(len(rows)), means, color=colors, yerr=stds if several else None, capsize=3)
    ax.bar_label(bars, labels=[f"{m:.4g}" for m in means], fontsize=7, padding=2)
    ax.set_xticks(range(len(rows)), [ticks[r.name] for r in rows], rotation=30, ha="right", fontsize=7)
    bottom, top, truncated = value_limits(
        [m - s for m, s in zip(means, stds, strict=True)], [m + s for m, s in zip(means, stds, strict=True)]
    )
    ax.set_ylim(bottom, top)
    if truncated:
        ax.set_title(f"{metric}\n(y-axis from {bottom:.4g}, not 0)", fontsize=9)
    if several:
        ax.set_ylabel("mean ± std over seeds", fontsize=7)


def metric_figure(comparison: Comparison, task: str) -> Figure:
    """The figure of one task: one panel per metric of the task."""
    ticks = dict(zip((r.name for r in comparison.rows), _tick_labels(comparison.rows), strict=True))
    columns = [c for c in comparison.columns if c.split("/")[1] == task]
    fig = Figure(figsize=(max(4.0, 3.2 * len(columns)), 4.0), layout="constrained")
    for i, column in enumerate(columns):
        draw_metric_panel(fig.add_subplot(1, len(columns), i + 1), comparison.rows, column, ticks)
    fig.suptitle(f"test metrics: {task}")
    return fig


def plot_metric_bars(comparison: Comparison, out_dir: Path) -> list[Path]:
    """``metrics_<task>.png`` per task; returns the files written."""
    written = []
    for task in dict.fromkeys(c.split("/")[1] for c in comparison.columns):
        path = out_dir / f"metrics_{task}.png"
        metric_figure(comparison, task).savefig(path, dpi=100)
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
    # {task: {row label: (colour, [(steps, values) per seed])}}
    curves: dict[str, dict[str, tuple[str, list[tuple[list[int], list[float]]]]]] = {}
    ticks = dict(zip((r.name for r in comparison.rows), _tick_labels(comparison.rows), strict=True))
    for i, row in enumerate(r for r in comparison.rows if r.is_mtl):
        files = [path / "csv" / "metrics.csv" for path in row.paths]
        missing = sum(not f.is_file() for f in files)
        if missing == len(files):
            notes.append(f"{row.name}: no csv/metrics.csv, left out of weights.png")
            continue
        if missing:
            notes.append(f"{row.name}: {missing} of {len(files)} runs have no csv/metrics.csv")
        trajectories = [read_weight_trajectories(f) for f in files if f.is_file()]
        if not any(trajectories):
            notes.append(f"{row.name}: no train/weight/<task> columns in csv/metrics.csv")
        for seed_curves in trajectories:
            for task, curve in seed_curves.items():
                curves.setdefault(task, {}).setdefault(ticks[row.name], (f"C{i % 10}", []))[1].append(curve)
    if not curves:
        return None, notes
    fig = Figure(figsize=(4.5 * len(curves), 3.6), layout="constrained")
    for i, (task, by_row) in enumerate(curves.items()):
        ax = fig.add_subplot(1, len(curves), i + 1)
        for label, (color, seeds) in by_row.items():
            for j, (steps, values) in enumerate(seeds):  # one legend entry per row
                ax.plot(steps, values, color=color, label=label if j == 0 else f"_{label}", linewidth=1.2)
        ax.set_title(weight(task))
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    path = out_dir / "weights.png"
    fig.savefig(path, dpi=100)
    return path, notes
