"""A :class:`Comparison` as a console table, ``report.csv`` and ``report.md`` (which also lists every
task: kind, outputs, labelled samples per split and class names).

Columns: ``run`` (directory relative to the inputs' common parent), ``choices`` (overrides that differ
between runs), ``status``, ``tasks``, one column per ``test/<task>/<metric>``, ``delta_m_pct``,
``mean_rank``, ``baselines`` (runs or file Δm% used) and, in the CSV, ``overrides`` (all of the run's
choices) and ``path``. Unavailable values are ``n/a``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mtl_lab.analysis.comparison import Comparison, ReportRow

NA = "n/a"


def _fmt(value: float | None, digits: int) -> str:
    return NA if value is None else f"{value:.{digits}f}"


def _short(column: str) -> str:
    return column.removeprefix("test/")


def _cells(row: ReportRow, columns: list[str]) -> list[str]:
    return [
        row.name,
        row.label,
        row.status,
        ",".join(row.tasks),
        *[_fmt(row.metrics.get(c), 4) for c in columns],
        _fmt(row.delta_m, 2),
        _fmt(row.mean_rank, 2),
    ]


def header(comparison: Comparison) -> list[str]:
    return ["run", "choices", "status", "tasks", *map(_short, comparison.columns), "delta_m_pct", "mean_rank"]


def format_table(comparison: Comparison) -> str:
    """Aligned plain-text table, one row per run."""
    table = [header(comparison)] + [_cells(r, comparison.columns) for r in comparison.rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    return "\n".join(lines)


def write_csv(comparison: Comparison, path: str | Path) -> Path:
    """Full-precision values (``repr`` of the float), ``n/a`` where unavailable."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        columns = comparison.columns
        tail = ["delta_m_pct", "mean_rank", "baselines", "overrides", "path"]
        writer.writerow(["run", "choices", "status", "tasks", *columns, *tail])
        for row in comparison.rows:
            values = [row.metrics.get(c) for c in columns] + [row.delta_m, row.mean_rank]
            writer.writerow(
                [row.name, row.label, row.status, ",".join(row.tasks)]
                + [NA if v is None else repr(float(v)) for v in values]
                + [";".join(row.baseline_sources) or NA, " ".join(row.overrides), str(row.path)]
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


def write_markdown(comparison: Comparison, path: str | Path, figures: list[Path] | None = None) -> Path:
    """A Markdown table (Δm% defined under it), the notes and links to the figures."""
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
    ]
    lines += ["", "Tasks:", *task_lines(comparison)]
    sources = {r.name: r.baseline_sources for r in comparison.rows if r.baseline_sources}
    if sources:
        lines += ["", "Baselines:", *[f"- {name}: {', '.join(s)}" for name, s in sources.items()]]
    if comparison.notes:
        lines += ["", "Notes:", *[f"- {note}" for note in comparison.notes]]
    if figures:
        lines += ["", *[f"![{f.stem}]({f.name})" for f in figures]]
    path.write_text("\n".join(lines) + "\n")
    return path
