"""``mtl-report <dir>... [--baselines FILE] [--out DIR]``: compare runs from their ``summary.json``.

Reads every run directory at or below the given directories (single runs, multirun directories,
any nesting), prints one row per run — runs that differ only in ``seed`` are one row: mean ± std over
the seeds and their number, ``n_seeds`` (:mod:`mtl_lab.analysis.seeds`) — with the overridden choices,
per-task test metrics, Δm% and mean rank, and writes ``report.csv``, ``report.md``,
``metrics_<task>.png``, ``weights.png`` and, when a run started from another listed run
(``init_from``), ``forgetting.csv`` (:mod:`mtl_lab.analysis.forgetting`) into ``--out`` (default:
``<dir>/report`` for one input directory, ``./report`` for several). Only the output directory is
written; a directory that is itself a run (holds ``summary.json``) is refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mtl_lab.analysis.baselines import load_baselines_file
from mtl_lab.analysis.comparison import Comparison, compare_runs
from mtl_lab.analysis.forgetting import (
    FORGETTING_FILE,
    Forgetting,
    find_forgetting,
    forgetting_markdown,
    format_forgetting,
    write_forgetting_csv,
)
from mtl_lab.analysis.plots import plot_metric_bars, plot_weight_trajectories
from mtl_lab.analysis.runs import discover_runs
from mtl_lab.analysis.tables import format_table, write_csv, write_markdown
from mtl_lab.errors import ConfigError, MtlLabError
from mtl_lab.summary import SUMMARY_FILE


@dataclass
class ReportFiles:
    comparison: Comparison
    out_dir: Path
    csv: Path
    markdown: Path
    figures: list[Path]
    forgetting: Forgetting
    forgetting_csv: Path | None


def default_out_dir(inputs: Sequence[str | Path]) -> Path:
    return Path(inputs[0]) / "report" if len(inputs) == 1 else Path("report")


def make_report(
    inputs: Sequence[str | Path], out_dir: str | Path | None = None, baselines: str | Path | None = None
) -> ReportFiles:
    """Discover the runs, compare them and write the report files; returns what was written."""
    if not inputs:
        raise ConfigError("no run directories given")
    runs = discover_runs(inputs)
    baseline_values = load_baselines_file(baselines) if baselines is not None else None
    out = Path(out_dir) if out_dir is not None else default_out_dir(inputs)
    if (out / SUMMARY_FILE).exists():
        raise ConfigError(f"--out: {out} is a run directory (holds {SUMMARY_FILE}); choose another")
    comparison = compare_runs(runs, baseline_values)
    out.mkdir(parents=True, exist_ok=True)
    figures = plot_metric_bars(comparison, out)
    weights, notes = plot_weight_trajectories(comparison, out)
    comparison.notes += notes
    if weights is not None:
        figures.append(weights)
    csv_path = write_csv(comparison, out / "report.csv")
    forgetting = find_forgetting(runs)
    md_path = write_markdown(comparison, out / "report.md", figures, forgetting_markdown(forgetting))
    (out / FORGETTING_FILE).unlink(missing_ok=True)  # an earlier report's: replaced, or gone without rows
    forgetting_csv = write_forgetting_csv(forgetting, out / FORGETTING_FILE) if forgetting.rows else None
    return ReportFiles(comparison, out, csv_path, md_path, figures, forgetting, forgetting_csv)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mtl-report", description="Compare mtl_lab runs: per-task test metrics, Δm%, mean rank."
    )
    parser.add_argument("dirs", nargs="+", help="run or multirun directories (searched recursively)")
    parser.add_argument("--baselines", help="JSON {'test/<task>/<metric>': value} of single-task baselines")
    parser.add_argument("--out", help="output directory (default: <dir>/report for one input, else ./report)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        files = make_report(args.dirs, args.out, args.baselines)
    except MtlLabError as err:
        sys.exit(f"mtl-report: error: {err}")
    print(format_table(files.comparison))
    for note in files.comparison.notes:
        print(f"note: {note}")
    if files.forgetting.rows:
        print("\nForgetting (before: the source run, after: the run started from it; < 0 is forgetting):")
        print(format_forgetting(files.forgetting))
    for note in files.forgetting.notes:
        print(f"note: {note}")
    written = [files.csv, files.markdown, *([files.forgetting_csv] if files.forgetting_csv else [])]
    print(f"wrote {', '.join(map(str, written + files.figures))}")


if __name__ == "__main__":
    main()
