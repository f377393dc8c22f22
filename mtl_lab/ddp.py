"""DDP whose extra ranks re-run *the current Hydra job*, in single runs and multirun jobs alike.

Lightning's ``ddp`` strategy starts ranks 1..N-1 by re-running ``sys.argv`` with
``hydra.run.dir=<run dir>``. Under ``mtl-train -m`` that re-launches the whole sweep (``-m`` is in
``sys.argv``) and puts the other ranks' outputs in a run directory of their own. Its launcher also
leaves ``LOCAL_RANK`` & co. in the environment, so the next job of the same sweep process believes
its processes were created externally and waits for ranks that never start.

:class:`HydraJobDDPStrategy` builds each extra rank's command from the job itself: the job's task
overrides and its non-sweep Hydra overrides, ``hydra.run.dir=<the job's output dir>``,
``hydra.mode=RUN``, ``hydra.output_subdir=null`` (rank 0 keeps ``.hydra/``) and
``hydra.job.name=train_ddp_process_<rank>`` (its log is ``train_ddp_process_<rank>.log`` in the job
directory). :func:`ddp_job` wraps one job: on exit it waits for the job's extra ranks and restores
the environment the launcher changed. Without Hydra (e.g. a script calling ``Trainer.fit``) the
strategy behaves like Lightning's.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch.distributed
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from lightning_fabric.strategies.launchers.subprocess_script import _basic_subprocess_cmd
from lightning_fabric.utilities.distributed import _set_num_threads_if_needed
from pytorch_lightning.strategies import DDPStrategy, FSDPStrategy
from pytorch_lightning.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

from mtl_lab.errors import ConfigError

log = logging.getLogger(__name__)

#: The module the extra ranks run (``mtl-train``'s entry point).
ENTRY_MODULE = "mtl_lab.train"
#: Environment variables the launcher sets for the ranks of one job.
DDP_ENV_KEYS = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")
#: Hydra settings of the sweep itself, or set here for the extra ranks: not passed on to them.
_NOT_FORWARDED = ("hydra/launcher", "hydra/sweeper", "hydra.launcher", "hydra.sweeper", "hydra.sweep")
_SET_FOR_RANKS = ("hydra.mode", "hydra.run.dir", "hydra.job.name", "hydra.output_subdir")

_launched: list[HydraJobLauncher] = []
#: Overrides the current job adds for its extra ranks (:func:`ddp_job`).
_job_overrides: list[str] = []


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rank_command(local_rank: int) -> list[str]:
    """The command line that runs the current Hydra job as ``local_rank`` in its output directory."""
    hydra = HydraConfig.get()
    command = [sys.executable, "-m", ENTRY_MODULE]
    for source in hydra.runtime.config_sources:
        if source.schema != "file":
            continue
        if source.provider == "main":
            command += ["--config-path", source.path]
        elif source.provider == "command-line":
            command += ["--config-dir", source.path]
    command += ["--config-name", hydra.job.config_name]
    parser = OverridesParser.create()
    for override in parser.parse_overrides(list(hydra.overrides.hydra)):
        key = override.key_or_group
        if not key.startswith(_NOT_FORWARDED) and key not in _SET_FOR_RANKS:
            command.append(override.input_line)
    command += [*hydra.overrides.task, *_job_overrides]
    command += [
        f"hydra.run.dir={_quoted(hydra.runtime.output_dir)}",
        f"hydra.job.name=train_ddp_process_{local_rank}",
        "hydra.output_subdir=null",
        "hydra.mode=RUN",
    ]
    return command


class _RankObserver(threading.Thread):
    """Watches the extra ranks. A rank that exits non-zero while the job still runs gives rank 0
    ``grace_s`` to notice (it usually fails the same way and records it); after that every process
    of the job is killed, since rank 0 may hang in a collective. :meth:`stop` ends the watch."""

    def __init__(self, procs: Sequence[subprocess.Popen], grace_s: float = 30.0, period_s: float = 1.0):
        super().__init__(daemon=True, name="ddp-rank-observer")
        self.procs = procs
        self.grace_s = grace_s
        self.period_s = period_s
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        failed_at: float | None = None
        while not self._stopped.wait(self.period_s):
            codes = [proc.poll() for proc in self.procs]
            if all(code == 0 for code in codes):
                return
            if failed_at is None and any(code for code in codes):
                failed_at = time.monotonic()
                log.warning("a DDP rank exited with status %s", [c for c in codes if c])
            if failed_at is not None and time.monotonic() - failed_at > self.grace_s:
                log.error("a DDP rank failed and rank 0 did not finish: terminating the job's processes")
                for proc in self.procs:
                    proc.kill()
                os.kill(os.getpid(), signal.SIGKILL)


class HydraJobLauncher(_SubprocessScriptLauncher):
    """Lightning's subprocess launcher with the extra ranks' command taken from the current Hydra job."""

    observer: _RankObserver | None = None

    def launch(self, function: Callable, *args: Any, trainer: Any = None, **kwargs: Any) -> Any:
        self.cluster_environment.validate_settings(num_devices=self.num_processes, num_nodes=self.num_nodes)
        if not self.cluster_environment.creates_processes_externally:
            self._call_children_scripts()
            self.observer = _RankObserver(self.procs)
            self.observer.start()
            _launched.append(self)
        _set_num_threads_if_needed(num_processes=self.num_processes)
        return function(*args, **kwargs)

    def _call_children_scripts(self) -> None:
        self._check_can_spawn_children()
        self.procs = []
        os.environ["MASTER_ADDR"] = self.cluster_environment.main_address
        os.environ["MASTER_PORT"] = str(self.cluster_environment.main_port)
        os.environ["NODE_RANK"] = str(self.cluster_environment.node_rank())
        os.environ["LOCAL_RANK"] = str(self.cluster_environment.local_rank())
        os.environ["WORLD_SIZE"] = f"{self.num_processes * self.num_nodes}"
        for local_rank in range(1, self.num_processes):
            env = {**os.environ, "LOCAL_RANK": str(local_rank)}
            if HydraConfig.initialized():
                command, cwd = rank_command(local_rank), HydraConfig.get().runtime.cwd
            else:
                command, cwd = list(_basic_subprocess_cmd()), None
            self.procs.append(subprocess.Popen(command, env=env, cwd=cwd))

    def finish(self, timeout_s: float = 120.0) -> None:
        """Stop watching and wait for the extra ranks (killed after ``timeout_s``)."""
        if self.observer is not None:
            self.observer.stop()
        for proc in self.procs:
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.error("DDP rank process %d did not exit after the job: killed", proc.pid)
                proc.kill()
                proc.wait()


class HydraJobDDPStrategy(DDPStrategy):
    """``DDPStrategy`` whose extra local ranks re-run the current Hydra job (see the module docstring)."""

    def _configure_launcher(self) -> None:
        if self._start_method != "popen":
            super()._configure_launcher()
            return
        assert self.cluster_environment is not None
        self._launcher = HydraJobLauncher(self.cluster_environment, self.num_processes, self.num_nodes)


class HydraJobFSDPStrategy(FSDPStrategy):
    """Lightning's ``FSDPStrategy`` (PyTorch FSDP: parameters, gradients and optimizer state sharded over
    the ranks; GPUs only) whose extra local ranks re-run the current Hydra job like
    :class:`HydraJobDDPStrategy`'s. ``wrap_modules``: the classes (``package.module.Class``) each wrapped
    as one FSDP unit, e.g. a transformer's layer class; other keyword arguments go to ``FSDPStrategy``.

    Gradient statistics work at ``grad_level: representation`` (gradients w.r.t. activations); the
    parameter levels would read sharded parameters and are refused before training
    (:func:`check_sharded_grad_level`)."""

    def __init__(self, wrap_modules: Sequence[str] = (), **kwargs: Any) -> None:
        if wrap_modules:
            kwargs["auto_wrap_policy"] = {_import_class(name) for name in wrap_modules}
        super().__init__(**kwargs)

    def _configure_launcher(self) -> None:
        assert self.cluster_environment is not None
        if not self.cluster_environment.creates_processes_externally:
            self._launcher = HydraJobLauncher(self.cluster_environment, self.num_processes, self.num_nodes)


def _import_class(path: str) -> type:
    module_name, _, name = path.replace(":", ".").rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ConfigError(f"trainer.strategy.wrap_modules: cannot import {path!r}: {err}") from None
    if not isinstance(found, type):
        raise ConfigError(f"trainer.strategy.wrap_modules: {path!r} is not a class")
    return found


def check_sharded_grad_level(strategy: object, grad_level: str, needs_gradients: bool, key: str) -> None:
    """Refuse parameter-level gradient statistics under FSDP, whose ranks hold shards of the parameters."""
    if needs_gradients and isinstance(strategy, FSDPStrategy) and grad_level != "representation":
        raise ConfigError(
            f"weighting.grad_level: {grad_level!r} reads every shared parameter, which trainer=fsdp shards "
            f"over the ranks (weighting={key}); use weighting.grad_level=representation or trainer=ddp"
        )


@contextmanager
def ddp_job(overrides: Sequence[str] = ()) -> Iterator[None]:
    """Scope of one job: its extra ranks also get ``overrides`` (e.g. the ``resume=`` of a sweep job that
    resumes); afterwards they have exited, its process group is destroyed (the next job of a multirun
    initializes its own) and the DDP environment is as before."""
    saved = {key: os.environ.get(key) for key in DDP_ENV_KEYS}
    _job_overrides[:] = overrides
    try:
        yield
    finally:
        _job_overrides.clear()
        while _launched:
            _launched.pop().finish()
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
