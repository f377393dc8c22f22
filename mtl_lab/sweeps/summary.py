"""``sweep_summary.json``: one record per job of a multirun, kept up to date as jobs end.

The file is rebuilt from the job directories (``.hydra/hydra.yaml``, ``.hydra/overrides.yaml``,
``summary.json``) under a file lock, so it is right whichever process ends a job (the basic
launcher's, a joblib worker, a cluster node) and stays valid if the sweep is killed::

    {"sweep_dir": "/abs/outputs/multirun/2026-11-22/14-03-12_123456",
     "finished": true,                      # false while the multirun runs (or if it was killed)
     "counts": {"completed": 5, "failed": 1, "diverged": 0},
     "jobs": [{"num": 0, "dir": ".../0", "overrides": ["weighting=fixed", "optimizer.lr=1e-3"],
               "status": "completed", "optimized_metric": {"name": "val/loss", "value": 3.27},
               "wall_time_s": 11.0}, ...]}

At a job's end only the records that can have changed are read again: that job's and those not yet
final in the file (a job that has ended keeps its status for the rest of the multirun), so a sweep of
``N`` jobs reads ``N`` job directories at its start and end, not ``N`` after every job.

A job's ``status`` is its summary's (``completed``, ``failed``, ``diverged``; ``error`` says why for
the last two). A job without ``summary.json`` is ``running`` while the multirun runs and ``failed``
(``error``: no summary.json) once it has ended. With ``fail_on_job_failure`` (the default), a
multirun in which some job did not complete exits with status 1 and one line naming those jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from mtl_lab.summary import RunSummary, write_summary

SWEEP_SUMMARY_FILE = "sweep_summary.json"
STATUSES = ("completed", "failed", "diverged")
_NO_SUMMARY = "no summary.json: the job was killed or crashed before writing it"


def _yaml(path: Path) -> Any:
    """A YAML file Hydra wrote (plain YAML: no interpolation is resolved), with libyaml where present."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _job_record(job_dir: Path, finished: bool) -> dict[str, Any]:
    overrides_file = job_dir / ".hydra" / "overrides.yaml"
    record: dict[str, Any] = {
        "num": int(_yaml(job_dir / ".hydra" / "hydra.yaml")["hydra"]["job"]["num"]),
        "dir": str(job_dir),
        "overrides": list(_yaml(overrides_file) or []) if overrides_file.is_file() else [],
    }
    summary_file = job_dir / "summary.json"
    if not summary_file.is_file():
        record["status"] = "failed" if finished else "running"
        record["optimized_metric"] = {"name": None, "value": None}
        if finished:
            record["error"] = _NO_SUMMARY
        return record
    summary = json.loads(summary_file.read_text())
    record["status"] = summary["status"]
    record["optimized_metric"] = summary.get("optimized_metric") or {"name": None, "value": None}
    record["wall_time_s"] = summary.get("wall_time_s")
    if summary.get("error"):
        record["error"] = summary["error"]
    return record


def collect_jobs(
    sweep_dir: Path, finished: bool, known: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every job directory under ``sweep_dir`` (one holding ``.hydra/hydra.yaml``), by job number; the
    record of a directory in ``known`` (by ``dir``) is taken from there, not read again."""
    job_dirs = {p.parent.parent for p in sweep_dir.rglob(".hydra/hydra.yaml")}
    known = known or {}
    records = (known.get(str(d)) or _job_record(d, finished) for d in job_dirs)
    return sorted(records, key=lambda r: r["num"])


def _final_records(sweep_dir: Path, except_dir: Path) -> dict[str, dict[str, Any]]:
    """The records of ``sweep_summary.json`` whose job has ended, but ``except_dir``'s, by ``dir``."""
    try:
        jobs = json.loads((sweep_dir / SWEEP_SUMMARY_FILE).read_text())["jobs"]
    except (OSError, ValueError, KeyError):
        return {}
    return {job["dir"]: job for job in jobs if job["status"] in STATUSES and job["dir"] != str(except_dir)}


@contextlib.contextmanager
def _locked(sweep_dir: Path) -> Iterator[None]:
    with open(sweep_dir / ".sweep_summary.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_sweep_summary(
    sweep_dir: str | Path, finished: bool, ended_job: Path | None = None
) -> dict[str, Any]:
    """Rebuild ``<sweep_dir>/sweep_summary.json`` from the job directories (atomically, under a lock).
    With ``ended_job`` (a job's end), the other records that are already final are kept as they are."""
    sweep_dir = Path(sweep_dir).resolve()
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with _locked(sweep_dir):
        known = _final_records(sweep_dir, ended_job.resolve()) if ended_job is not None else None
        jobs = collect_jobs(sweep_dir, finished, known)
        counts = {status: sum(job["status"] == status for job in jobs) for status in STATUSES}
        if not finished:
            counts["running"] = sum(job["status"] == "running" for job in jobs)
        data = {"sweep_dir": str(sweep_dir), "finished": finished, "counts": counts, "jobs": jobs}
        tmp = sweep_dir / f".{SWEEP_SUMMARY_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(sweep_dir / SWEEP_SUMMARY_FILE)
    return data


def _sweep_dir(config: DictConfig) -> Path:
    sweep_dir = Path(str(config.hydra.sweep.dir))
    return sweep_dir if sweep_dir.is_absolute() else Path(str(config.hydra.runtime.cwd)) / sweep_dir


class SweepSummary(Callback):
    """Hydra callback writing ``sweep_summary.json`` at multirun start, after every job and at the end."""

    def __init__(self, fail_on_job_failure: bool = True) -> None:
        self.fail_on_job_failure = fail_on_job_failure

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        write_sweep_summary(_sweep_dir(config), finished=False)

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        job_dir = Path(str(config.hydra.runtime.output_dir))
        if not (job_dir / "summary.json").is_file():
            # e.g. an exception raised outside mtl-train's own handling: record why the job failed
            # (JobReturn.return_value would re-raise a failed job's exception)
            reason = job_return._return_value if job_return.status == JobStatus.FAILED else None
            error = f"{type(reason).__name__}: {reason}".splitlines()[0] if reason else _NO_SUMMARY
            metric = {"name": config.get("optimized_metric"), "value": None}
            write_summary(
                RunSummary(status="failed", tasks={}, optimized_metric=metric, error=error),
                job_dir / "summary.json",
            )
        write_sweep_summary(_sweep_dir(config), finished=False, ended_job=job_dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = _sweep_dir(config)
        data = write_sweep_summary(sweep_dir, finished=True)
        not_completed = [job for job in data["jobs"] if job["status"] != "completed"]
        if self.fail_on_job_failure and not_completed:
            jobs = ", ".join(f"#{job['num']} {job['status']}" for job in not_completed)
            raise SystemExit(
                f"mtl-train: error: {len(not_completed)} of {len(data['jobs'])} jobs did not complete "
                f"({jobs}); see {sweep_dir / SWEEP_SUMMARY_FILE}"
            )
