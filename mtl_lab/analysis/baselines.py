"""Single-task baselines for Δm%: from runs among the inputs, or from a JSON file.

From runs: a completed run that trained exactly one task is the baseline for that task's test metrics
of every MTL run with the same ``data`` node (compared resolved, so ``data.seed: ${seed}`` compares the
seed's value; the task selection is a top-level key, not part of ``data``). Several such runs for one
task and data (seeds) are averaged. For a seed group of MTL runs (:mod:`mtl_lab.analysis.seeds`) the
single-task runs with the data of any of its averaged seeds are averaged: with ``data.seed: ${seed}``,
seeds 0, 1, 2 of an MTL setting are compared with seeds 0, 1, 2 of the single-task runs.

From a file (``mtl-report --baselines FILE``): a JSON object ``{"test/<task>/<metric>": value}``,
e.g. ``{"test/left/accuracy": 0.95, "test/sum/mae": 1.19}``; it then replaces the runs as the source.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mtl_lab.analysis.runs import Run
from mtl_lab.errors import ConfigError
from mtl_lab.names import LOSS, metric_directions, task_metric_names


@dataclass
class Baselines:
    """Baseline values by full metric name and where they came from (for the report)."""

    values: dict[str, float]
    sources: list[str]


def is_single_task(run: Run) -> bool:
    return len(run.tasks) == 1


def baselines_from_runs(runs: Sequence[Run], candidates: Sequence[Run], names: Sequence[str]) -> Baselines:
    """Baselines for ``runs`` (one run, or the averaged seeds of a group, all with the same tasks): the
    completed single-task runs among ``candidates`` with the data of one of them, averaged."""
    sums: dict[str, list[float]] = {}
    sources: list[str] = []
    data = [run.data for run in runs if run.data is not None]
    tasks = runs[0].tasks
    for candidate, name_of_candidate in zip(candidates, names, strict=True):
        if any(candidate is run for run in runs) or not is_single_task(candidate):
            continue
        if candidate.status != "completed" or candidate.data not in data or candidate.tasks[0] not in tasks:
            continue
        used = False
        for name in task_metric_names(candidate.metrics, candidate.tasks[0]):
            value = candidate.metrics.get(name)
            if value is not None and math.isfinite(value):
                sums.setdefault(name, []).append(float(value))
                used = True
        if used:
            sources.append(name_of_candidate)
    return Baselines({name: sum(v) / len(v) for name, v in sums.items()}, sources)


def load_baselines_file(path: str | Path) -> Baselines:
    """Read and validate a baselines file; every problem is a one-line :class:`ConfigError`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--baselines: no such file {str(path)!r}") from None
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"--baselines: {path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or not data:
        expected = "a non-empty object {'test/<task>/<metric>': value}"
        raise ConfigError(f"--baselines: {path}: expected {expected}")
    values: dict[str, float] = {}
    metrics = sorted(m for m in metric_directions() if m != LOSS)
    for key, value in data.items():
        parts = str(key).split("/")
        if len(parts) != 3 or parts[0] != "test" or not parts[1]:
            raise ConfigError(f"--baselines: {path}: key {key!r} is not 'test/<task>/<metric>'")
        if parts[2] not in metrics:
            raise ConfigError(
                f"--baselines: {path}: key {key!r}: unknown metric {parts[2]!r}; "
                f"choices: {', '.join(metrics)}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"--baselines: {path}: {key}: expected a finite number, got {value!r}")
        if value == 0:
            raise ConfigError(f"--baselines: {path}: {key}: baseline is 0 (relative change undefined)")
        values[str(key)] = float(value)
    return Baselines(values, [str(path)])
