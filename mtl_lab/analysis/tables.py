"""A :class:`Comparison` as a console table, ``report.csv`` and ``report.md`` (which also lists every
task: kind, outputs, labelled samples per split and class names).

One row per seed group (:mod:`mtl_lab.analysis.seeds`). Columns: ``run`` (directory relative to the
inputs' common parent; ``parent/{0,1,2}`` for a group), ``choices`` (overrides that differ between
rows), ``status``, ``tasks``, one column per ``test/<task>/<metric>`` (the mean over the seeds; in the
console and Markdown ``mean ± std`` when several seeds were averaged), ``delta_m_pct`` (from the
means), ``mean_rank``, ``n_seeds`` (the seeds averaged; ``3 of 4`` when a seed failed or diverged and
was left out). The CSV has ``baselines`` (runs or file Δm% used), ``overrides`` (all of the row's
choices), ``path`` (every run directory of the group, ``;``-separated), then ``n_seeds`` and ``n_runs``
(integers: seeds averaged, runs in the group), ``seeds`` (the averaged seeds, ``;``-separated) and one
``test/<task>/<metric> std`` column per metric (sample std, ddof=1; 0 for one seed). Unavailable
values are ``n/a``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from mtl_lab.analysis.comparison import Comparison, ReportRow

NA = "n/a"


def _fmt(value: float | None, digits: int) -> str:
    return NA if value is None else f"{value:.{digits}f}"


def _short(column: str) -> str:
    return column.removeprefix("test/")


def _metric_cell(row: ReportRow, column: str) -> str:
    value, std = row.metrics.get(column), row.std.get(column)
    if value is None or std is None or row.n_seeds < 2:
        return _fmt(value, 4)
    return f"{value:.4f} ± {std:.4f}"


def _seeds_cell(row: ReportRow) -> str:
    return str(row.n_seeds) if row.n_seeds == row.n_runs else f"{row.n_seeds} of {row.n_runs}"


def _cells(row: ReportRow, columns: list[str]) -> list[str]:
    return [
        row.name,
        row.label,
        row.status,
        ",".join(row.tasks),
        *[_metric_cell(row, c) for c in columns],
        _fmt(row.delta_m, 2),
        _fmt(row.mean_rank, 2),
        _seeds_cell(row),
    ]


def header(comparison: Comparison) -> list[str]:
    columns = map(_short, comparison.columns)
    return ["run", "choices", "status", "tasks", *columns, "delta_m_pct", "mean_rank", "n_seeds"]


def format_table(comparison: Comparison) -> str:
    """Aligned plain-text table, one row per run."""
    table = [header(comparison)] + [_cells(r, comparison.columns) for r in comparison.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return NA if value is None else repr(float(value))


def write_csv(comparison: Comparison, path: str | Path) -> Path:
    """Full-precision values (``repr`` of the float), ``n/a`` where unavailable."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        columns = comparison.columns
        tail = ["delta_m_pct", "mean_rank", "baselines", "overrides", "path", "n_seeds", "n_runs", "seeds"]
        writer.writerow(
            ["run", "choices", "status", "tasks", *columns, *tail, *(f"{c} std" for c in columns)]
        )
        for row in comparison.rows:
            values = [row.metrics.get(c) for c in columns] + [row.delta_m, row.mean_rank]
            writer.writerow(
                [row.name, row.label, row.status, ",".join(row.tasks)]
                + [_number(v) for v in values]
                + [";".join(row.baseline_sources) or NA, " ".join(row.overrides)]
                + [";".join(map(str, row.paths)), row.n_seeds, row.n_runs]
                + [";".join(NA if s is None else str(s) for s in row.seeds) or NA]
                + [_number(row.std.get(c)) for c in columns]
            )
    return path


def task_lines(comparison: Comparison) -> list[str]:
    """One Markdown bullet per task: kind, outputs, labelled samples per split, class names."""
    lines = []
    for task, info in comparison.tasks.items():
        line = f"- {task}: {info.get('kind', '?')}, {info.get('num_outputs', '?')} output(s)"
        labelled = info.get("labelled")
        if labelled:
            line += "; labelled " + ", ".join(f"{split} {n}" for split, n in labelled.items())
        if info.get("class_names"):
            line += "; classes " + ", ".join(map(str, info["class_names"]))
        lines.append(line)
    return lines


def write_markdown(
    comparison: Comparison, path: str | Path, figures: list[Path] | None = None, sections: Sequence[str] = ()
) -> Path:
    """A Markdown table (Δm% defined under it), the notes, extra ``sections`` (lines) and the figures."""
    path = Path(path)
    head = header(comparison)
    lines = ["# mtl-report", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in comparison.rows:
        cells = [c.replace("|", "\\|") for c in _cells(row, comparison.columns)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Δm% = mean over the task metrics of 100 * (-1)^l (M_mtl - M_single) / M_single, l = 1 where "
        "higher is better (Maninis et al. 2019; Nash-MTL, Navon et al. 2022): lower is better. "
        "Mean rank: average over metrics of the rank among the completed multi-task runs (1 = best).",
        "",
        "Runs that differ only in their seed are one row: mean ± sample std (ddof=1) over the seeds that "
        "completed (n_seeds; '3 of 4' when a seed failed or diverged, named in the notes), Δm% and rank "
        "from the means, against single-task baselines averaged over their seeds.",
    ]
    lines += ["", "Tasks:", *task_lines(comparison)]
    sources = {r.name: r.baseline_sources for r in comparison.rows if r.baseline_sources}
    if sources:
        lines += ["", "Baselines:", *[f"- {name}: {', '.join(s)}" for name, s in sources.items()]]
    if comparison.notes:
        lines += ["", "Notes:", *[f"- {note}" for note in comparison.notes]]
    lines += sections
    if figures:
        lines += ["", *[f"![{f.stem}]({f.name})" for f in figures]]
    path.write_text("\n".join(lines) + "\n")
    return path
