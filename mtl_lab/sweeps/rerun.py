"""A sweep run again into its own ``hydra.sweep.dir`` finishes the remaining work only.

``mtl-train -m <same overrides> hydra.sweep.dir=X`` a second time (after a kill, a crash, a failed job):

- :class:`SweepRerun` (a Hydra callback, before any job starts) refuses to run a *different* sweep in
  X: the task overrides must be those X's first sweep recorded, or job N would meet another sweep's
  job N;
- each job then looks at its directory (:func:`rerun_job`): a ``summary.json`` that says
  ``completed`` is that job's result, reported again without training (``sweep_summary.json`` lists it,
  with its metrics); a ``checkpoints/last.ckpt`` without a completed summary (killed, crashed,
  diverged, failed) is resumed from that checkpoint, in place; anything else runs from the start.

The resumable Optuna search keeps its own rule (its trials always get new job directories).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from mtl_lab.lifecycle import LAST_CHECKPOINT
from mtl_lab.summary import SUMMARY_FILE
from mtl_lab.sweeps.summary import _sweep_dir

MULTIRUN_FILE = "multirun.yaml"
OVERRIDES_FILE = ".sweep_overrides.yaml"


def completed_summary(job_dir: Path) -> dict[str, Any] | None:
    """The job's ``summary.json`` when it says ``completed``, else None."""
    path = job_dir / SUMMARY_FILE
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    return summary if summary.get("status") == "completed" else None


def rerun_job(job_dir: Path) -> tuple[dict[str, Any] | None, Path | None]:
    """``(completed summary, None)``, ``(None, last.ckpt to resume from)`` or ``(None, None)`` (a fresh
    job) for a job directory of a sweep that runs again (see the module docstring)."""
    summary = completed_summary(job_dir)
    checkpoint = job_dir / "checkpoints" / LAST_CHECKPOINT
    if summary is not None:
        return summary, None
    return None, checkpoint if checkpoint.is_file() else None


class SweepRerun(Callback):
    """Refuses a multirun whose task overrides differ from those of the sweep whose jobs are already in
    its directory (recorded in ``<sweep dir>/.sweep_overrides.yaml`` by each run that finds no job there,
    whatever the launcher; a sweep from before that file is compared with Hydra's ``multirun.yaml``)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = _sweep_dir(config)
        now = list(config.hydra.overrides.task)
        record, hydra_record = sweep_dir / OVERRIDES_FILE, sweep_dir / MULTIRUN_FILE
        if not any(sweep_dir.rglob(".hydra/hydra.yaml")):  # no job yet: this sweep's overrides
            sweep_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(OmegaConf.create(now), record)
            return
        if record.is_file():
            before = list(OmegaConf.load(record))
        elif hydra_record.is_file():
            before = list(OmegaConf.load(hydra_record).hydra.overrides.task)
        else:
            return
        if before != now:
            raise SystemExit(
                f"mtl-train: error: hydra.sweep.dir: {sweep_dir} holds a sweep of other overrides "
                f"({' '.join(before)}); run its command again to finish it, or use another hydra.sweep.dir"
            )
