"""Run discovery and loading: the run directories below some paths and what each one recorded.

A run directory holds ``summary.json`` (see :mod:`mtl_lab.summary`), ``.hydra/config.yaml`` (the composed
config) and ``.hydra/overrides.yaml`` (the command-line overrides). Multirun directories hold numbered
job directories, each a run directory; :func:`discover_runs` finds run directories at any depth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mtl_lab.errors import ConfigError
from mtl_lab.summary import SUMMARY_FILE

#: Overrides that say where or how verbosely a run went, not what it was (left out of labels).
NOISE_PREFIXES = ("hydra.", "hydra/", "paths.", "+hydra.", "++hydra.", "+paths.", "++paths.")


@dataclass
class Run:
    """One run directory: its summary, overrides, (resolved where possible) ``data`` node and its saved
    config as written (unresolved; None without ``.hydra/config.yaml``)."""

    path: Path
    summary: dict[str, Any]
    overrides: list[str] = field(default_factory=list)
    data: dict[str, Any] | None = None
    config: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "unknown"))

    @property
    def tasks(self) -> list[str]:
        return list(self.summary.get("tasks", {}))

    @property
    def metrics(self) -> dict[str, float | None]:
        return dict(self.summary.get("metrics", {}))

    @property
    def choices(self) -> list[str]:
        """The overrides that say what the run was: without ``hydra.*`` and ``paths.*``."""
        return [o for o in self.overrides if not o.startswith(NOISE_PREFIXES)]


def _natural_key(path: Path) -> list[Any]:
    """Sort ``10/`` after ``9/``: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: cannot read summary ({type(err).__name__}: {err})") from None
    if not isinstance(data, dict) or "tasks" not in data or "metrics" not in data:
        raise ConfigError(f"{path}: not a run summary (expected an object with 'tasks' and 'metrics')")
    return data


def _read_overrides(run_dir: Path) -> list[str]:
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    overrides = OmegaConf.load(path)
    return [str(o) for o in overrides] if OmegaConf.is_list(overrides) else []


def _read_config(run_dir: Path) -> DictConfig | None:
    path = run_dir / ".hydra" / "config.yaml"
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    return cfg if isinstance(cfg, DictConfig) else None


def _data_node(cfg: DictConfig | None) -> dict[str, Any] | None:
    """The run's ``data`` node, resolved against its own config (``${seed}``); None without a config."""
    if cfg is None:
        return None
    node = cfg.get("data")
    if node is None:
        return None
    try:
        return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    except Exception:  # an interpolation that needs Hydra's runtime: compare the unresolved node
        return OmegaConf.to_container(node, resolve=False)  # type: ignore[return-value]


def load_run(run_dir: str | Path) -> Run:
    """Load one run directory (it must hold ``summary.json``)."""
    run_dir = Path(run_dir)
    summary = _read_json(run_dir / SUMMARY_FILE)
    cfg = _read_config(run_dir)
    return Run(
        path=run_dir,
        summary=summary,
        overrides=_read_overrides(run_dir),
        data=_data_node(cfg),
        config=None if cfg is None else OmegaConf.to_container(cfg, resolve=False),  # type: ignore[arg-type]
    )


def discover_runs(paths: Iterable[str | Path]) -> list[Run]:
    """Every run directory at or below ``paths`` (run dirs, multirun dirs, any nesting), in path order.

    A path that does not exist, or holds no ``summary.json`` at any depth, is a :class:`ConfigError`.
    A run reached through two of the paths is listed once.
    """
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise ConfigError(f"{path}: no such run or multirun directory")
        summaries = sorted(path.rglob(SUMMARY_FILE), key=_natural_key)
        if not summaries:
            raise ConfigError(f"{path}: no {SUMMARY_FILE} in it or below it (is it a run directory?)")
        for summary in summaries:
            found.setdefault(summary.parent.resolve(), None)
    return [load_run(run_dir) for run_dir in found]


def run_names(runs: Sequence[Run]) -> list[str]:
    """Short unique names: each run's path relative to the deepest directory common to all of them."""
    if not runs:
        return []
    parts = [run.path.resolve().parts for run in runs]
    common = 0
    while all(len(p) > common + 1 for p in parts) and len({p[common] for p in parts}) == 1:
        common += 1
    if len(runs) == 1:
        return [runs[0].path.name]
    return ["/".join(p[common:]) for p in parts]


def choice_labels(choices: Sequence[list[str]]) -> list[str]:
    """What distinguishes each run (or seed group) given its choices: the choices minus those every one
    shares (all of them for one)."""
    shared = set.intersection(*(set(c) for c in choices)) if len(choices) > 1 else set()
    labels = []
    for own in choices:
        distinct = [c for c in own if c not in shared]
        labels.append(" ".join(distinct) if distinct else ("(defaults)" if not own else "(shared overrides)"))
    return labels
