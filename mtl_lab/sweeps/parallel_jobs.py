"""The jobs of a multirun in parallel processes forked from the sweep process (``hydra/launcher=parallel``).

hydra-joblib-launcher (``hydra/launcher=joblib``) runs jobs in loky workers, new interpreters that import
torch, Lightning and mtl_lab again before their first job: on a 2-core machine about 8 s of CPU per
worker, as long as ``mtl-train``'s own start-up, which made 4 one-epoch MultiDigits jobs on 2 workers
slower than the same jobs one after another. Here each job runs in a new process forked from the sweep
process, which has imported everything already: it starts in milliseconds.

- At most ``n_jobs`` jobs run at once (joblib's meaning: ``-1`` one per CPU core, ``-2`` all but one,
  never more than the jobs of the batch); each job gets a process of its own, so memory is given back
  between jobs and a crash ends only its job.
- Each job's torch threads follow the number of jobs running at once (:mod:`mtl_lab.sweeps.threads`).
- A forked job takes the config the sweeper composed to validate the batch rather than composing it
  again (:mod:`mtl_lab.sweeps.validated_configs`); for spawned jobs none is kept (it would be pickled
  to every job), so each composes its own.
- A job whose process ends without a result (killed, out of memory, crashed) is returned as failed with
  its exit code; the other jobs of the batch still run (Hydra's basic sweeper then stops the multirun
  with that error; an Optuna search records a failed trial and goes on).
- ``start_method``: ``fork`` (default on Linux) or ``spawn`` (default elsewhere: forking a process that
  loaded macOS system frameworks is unsafe). Spawned jobs start in new interpreters and import again.

The sweep process itself never trains, so what it forks has no CUDA context and no OpenMP thread pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

import cloudpickle
from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.sweeps.threads import THREADS_ENV, apply_job_threads, cpu_cores, job_threads
from mtl_lab.sweeps.validated_configs import ValidatedConfigs

log = logging.getLogger(__name__)

START_METHODS = ("fork", "spawn")


@dataclass(frozen=True)
class Sweep:
    """What every job of the sweep needs: Hydra's context, the sweep's config, the task function and the
    job configs the sweeper composed (``configs``, Hydra's config loader in ``hydra_context``)."""

    hydra_context: HydraContext
    config: DictConfig
    task_function: TaskFunction
    configs: ValidatedConfigs


@dataclass
class _Running:
    num: int
    overrides: Sequence[str]
    process: BaseProcess
    results: Connection


def default_start_method() -> str:
    return "fork" if sys.platform.startswith("linux") else "spawn"


def jobs_at_once(n_jobs: int, jobs: int, cores: int) -> int:
    """How many of ``jobs`` jobs run side by side for joblib's ``n_jobs``."""
    if n_jobs == 0:
        raise ConfigError("hydra.launcher.n_jobs: must not be 0 (-1: one job per CPU core)")
    workers = n_jobs if n_jobs > 0 else cores + 1 + n_jobs
    return max(1, min(workers, jobs))


def run_one(sweep: Sweep, num: int, overrides: Sequence[str], threads: int | None) -> JobReturn:
    """Run job ``num`` of ``sweep`` in this process, as hydra-joblib-launcher's workers do."""
    setup_globals()
    apply_job_threads(threads)
    config = sweep.configs.take(sweep.config, overrides)
    with open_dict(config):
        config.hydra.job.id = f"{config.hydra.job.name}_{num}"
        config.hydra.job.num = num
    HydraConfig.instance().set_config(config)
    return run_job(
        hydra_context=sweep.hydra_context,
        config=config,
        task_function=sweep.task_function,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )


def _job_process(
    results: Connection,
    spawned: bytes | None,
    sweep: Sweep | None,
    num: int,
    overrides: Sequence[str],
    threads: int | None,
) -> None:
    """A job's process: run the job, send its JobReturn back. A forked process has the sweep and Hydra's
    state already; a spawned one gets them pickled (``spawned``)."""
    if spawned is not None:
        sweep, singletons = cloudpickle.loads(spawned)
        Singleton.set_state(singletons)
    assert sweep is not None
    try:
        ret = run_one(sweep, num, overrides, threads)
    except Exception as err:  # raised outside the task function (a callback): the sweep process raises it
        ret = _failed(overrides, err)
    try:
        # by value where needed: Hydra re-executes plugin modules when it scans them again, so a config
        # class is not always the one its module holds
        payload = cloudpickle.dumps(ret)
    except Exception as err:  # an exception or return value that does not pickle
        payload = cloudpickle.dumps(
            _failed(overrides, RuntimeError(f"job {num}: its result could not be sent back: {err}"))
        )
    results.send_bytes(payload)
    results.close()


def _failed(overrides: Sequence[str], error: Exception) -> JobReturn:
    return JobReturn(overrides=list(overrides), status=JobStatus.FAILED, _return_value=error)


def _finish(job: _Running) -> JobReturn:
    try:
        return pickle.loads(job.results.recv_bytes())
    except EOFError:
        job.process.join()
        reason = (
            f"job {job.num} ({' '.join(job.overrides)}): its process ended with exit code "
            f"{job.process.exitcode} before returning (killed, out of memory or crashed)"
        )
        return _failed(job.overrides, RuntimeError(reason))
    finally:
        job.results.close()


def launch(
    sweep: Sweep,
    job_overrides: Sequence[Sequence[str]],
    initial_job_idx: int,
    n_jobs: int = -1,
    start_method: str | None = None,
    threads_per_job: int | None = None,
) -> list[JobReturn]:
    """Run the jobs, at most ``n_jobs`` at once; their returns in the order of ``job_overrides``."""
    method = start_method or default_start_method()
    if method not in START_METHODS:
        raise unknown_choice("hydra.launcher.start_method", method, START_METHODS, "start method")
    setup_globals()
    configure_log(sweep.config.hydra.hydra_logging, sweep.config.hydra.verbose)
    Path(str(sweep.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
    at_once = jobs_at_once(n_jobs, len(job_overrides), cpu_cores())
    threads = job_threads(at_once, threads_per_job)
    log.info(
        "Launching %d jobs, %d at a time in %sed processes, torch threads per job: %s; sweep output dir: %s",
        len(job_overrides),
        at_once,
        method,
        threads or f"{THREADS_ENV}={os.environ.get(THREADS_ENV)}",
        sweep.config.hydra.sweep.dir,
    )
    context = multiprocessing.get_context(method)
    spawned = cloudpickle.dumps((sweep, Singleton.get_state())) if method == "spawn" else None
    forked = None if spawned else sweep
    pending = list(enumerate(job_overrides, start=initial_job_idx))[::-1]
    running: dict[Connection, _Running] = {}
    returns: dict[int, JobReturn] = {}
    ending: list[BaseProcess] = []  # sent their result, reaped once they have exited
    try:
        while pending or running:
            while pending and len(running) < at_once:
                num, overrides = pending.pop()
                log.info("\t#%d : %s", num, " ".join(filter_overrides(overrides)))
                receive, send = context.Pipe(duplex=False)
                process = context.Process(
                    target=_job_process,
                    args=(send, spawned, forked, num, overrides, threads),
                    name=f"job-{num}",
                )
                process.start()
                send.close()
                running[receive] = _Running(num, overrides, process, receive)
            for ready in wait(list(running)):
                job = running.pop(ready)  # type: ignore[arg-type]
                returns[job.num] = _finish(job)
                ending.append(job.process)
            ending = [process for process in ending if not _reaped(process)]
    finally:
        for job in running.values():
            job.process.terminate()
        for process in ending + [job.process for job in running.values()]:
            process.join()
        sweep.configs.forget()  # the batch's jobs have all started
    return [returns[num] for num in sorted(returns)]


def _reaped(process: BaseProcess) -> bool:
    process.join(timeout=0)
    if process.exitcode is None:
        return False
    process.close()
    return True
