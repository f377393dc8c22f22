"""Torch threads of a job that shares this machine with other jobs of the same sweep.

The rule, applied by the parallel launcher (``hydra/launcher=parallel``) in each job's process before
the job runs; one job at a time (a single run, the basic launcher) keeps torch's own default:

1. ``hydra.launcher.threads_per_job`` when it is set;
2. else, if ``OMP_NUM_THREADS`` is set in the environment, nothing is changed: torch already follows it
   in every job (the user's choice);
3. else ``max(1, cores // jobs at once)``: ``cores`` are the CPUs this process may run on, ``jobs at
   once`` the number of jobs running side by side (the launcher's ``n_jobs``, at most the jobs of the
   batch).

The number chosen is set with ``torch.set_num_threads`` and exported as ``OMP_NUM_THREADS``, so that the
processes a job starts (DDP ranks, DataLoader workers) follow it too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from mtl_lab.errors import ConfigError

THREADS_ENV = "OMP_NUM_THREADS"


def cpu_cores() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def job_threads(
    jobs_at_once: int,
    threads_per_job: int | None = None,
    environ: Mapping[str, str] | None = None,
    cores: int | None = None,
) -> int | None:
    """Torch threads for each of ``jobs_at_once`` jobs (the rule above); ``None``: leave torch as it is."""
    if threads_per_job is not None:
        if threads_per_job < 1:
            raise ConfigError(f"hydra.launcher.threads_per_job: must be >= 1 or null, got {threads_per_job}")
        return threads_per_job
    if THREADS_ENV in (os.environ if environ is None else environ):
        return None
    return max(1, (cpu_cores() if cores is None else cores) // max(1, jobs_at_once))


def apply_job_threads(threads: int | None) -> None:
    """Use ``threads`` torch threads in this process and the processes it starts (``None``: no change)."""
    if threads is None:
        return
    torch.set_num_threads(threads)
    os.environ[THREADS_ENV] = str(threads)
