"""Seed groups: runs that differ only in ``seed`` are one row of the report, their metrics averaged.

Two runs are in one group iff their saved configs (``.hydra/config.yaml``, compared unresolved, so
``data.seed: ${seed}`` is equal across seeds) are equal once the top-level keys ``seed``, ``paths``
(run-local directories) and ``hydra`` are left out. A run without a saved config is grouped by its
choices without ``seed=`` overrides. Groups keep the order of their first run, runs their path order.

A group's values average its completed runs; failed and diverged runs are left out of the mean, and
counted (``n_seeds`` "3 of 4") and named in the notes. A group with no completed run shows whatever its
runs recorded (normally nothing). Per metric: the mean and the sample standard deviation (ddof=1, as
papers report it; 0 for one value) over the averaged runs that have a finite value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from mtl_lab.analysis.runs import Run

SEED = "seed"
#: Top-level config keys that do not say what a run was: its seed and its run-local directories.
RUN_LOCAL_KEYS = (SEED, "paths", "hydra")
COMPLETED = "completed"


def is_seed_choice(choice: str) -> bool:
    """``seed=3``, ``+seed=3``, ``++seed=3``."""
    return choice.lstrip("+").split("=", 1)[0] == SEED


def run_seed(run: Run) -> int | None:
    """The seed the run used: ``summary.json``'s ``seed``, else the saved config's."""
    seed = run.summary.get(SEED)
    if seed is None:
        seed = (run.config or {}).get(SEED)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def group_key(run: Run) -> str:
    """Equal for runs whose configs are equal except seed and run-local paths."""
    if run.config is None:
        return "choices:" + json.dumps(sorted(c for c in run.choices if not is_seed_choice(c)))
    config = {k: v for k, v in run.config.items() if k not in RUN_LOCAL_KEYS}
    return "config:" + json.dumps(config, sort_keys=True, default=str)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for one value) of a non-empty sequence.

    >>> mean_std([1.0, 2.0, 3.0])
    (2.0, 1.0)
    """
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


@dataclass
class SeedStats:
    """Per metric (None: no averaged run has a finite value) and how many runs had one."""

    mean: dict[str, float | None]
    std: dict[str, float | None]
    count: dict[str, int]


def seed_stats(runs: Sequence[Run], names: Sequence[str]) -> SeedStats:
    """Mean and sample std of each metric in ``names`` over the finite values of ``runs``."""
    stats = SeedStats({}, {}, {})
    for name in names:
        values = [float(v) for r in runs if (v := r.metrics.get(name)) is not None and math.isfinite(v)]
        stats.mean[name], stats.std[name] = mean_std(values) if values else (None, None)
        stats.count[name] = len(values)
    return stats


@dataclass
class SeedGroup:
    """Runs that differ only in their seed, with their report names."""

    runs: list[Run]
    names: list[str]

    @property
    def averaged(self) -> list[Run]:
        """The runs the row averages: the completed ones, or all of them when none completed."""
        return [run for run in self.runs if run.status == COMPLETED] or list(self.runs)

    @property
    def status(self) -> str:
        """``completed`` when a run completed, else the runs' statuses joined by ``/``."""
        statuses = list(dict.fromkeys(run.status for run in self.runs))
        return COMPLETED if COMPLETED in statuses else "/".join(statuses)

    @property
    def name(self) -> str:
        """The run's name; for several: ``parent/{0,1,2}`` when they share a parent, else comma-joined."""
        if len(self.names) == 1:
            return self.names[0]
        parents = {str(PurePosixPath(n).parent) for n in self.names}
        if len(parents) == 1 and (parent := parents.pop()) != ".":
            return f"{parent}/{{{','.join(PurePosixPath(n).name for n in self.names)}}}"
        return ",".join(self.names)

    @property
    def choices(self) -> list[str]:
        """The first run's choices; ``seed=`` ones dropped when the runs' seeds differ."""
        seeds = {run_seed(run) for run in self.runs}
        own = self.runs[0].choices
        return [c for c in own if not is_seed_choice(c)] if len(seeds) > 1 else own

    def failure_note(self) -> str | None:
        """Names the runs left out of the mean (None when every run completed, or none did)."""
        kept = len(self.averaged)
        if kept == len(self.runs):
            return None
        left_out = ", ".join(
            f"{name} (seed {run_seed(run)}, {run.status})"
            for name, run in zip(self.names, self.runs, strict=True)
            if run.status != COMPLETED
        )
        return f"{self.name}: {kept} of {len(self.runs)} seeds completed; left out of the mean: {left_out}"


def group_runs(runs: Sequence[Run], names: Sequence[str]) -> list[SeedGroup]:
    """Runs grouped by :func:`group_key`, in order of each group's first run."""
    groups: dict[str, SeedGroup] = {}
    for run, name in zip(runs, names, strict=True):
        group = groups.setdefault(group_key(run), SeedGroup([], []))
        group.runs.append(run)
        group.names.append(name)
    return list(groups.values())
