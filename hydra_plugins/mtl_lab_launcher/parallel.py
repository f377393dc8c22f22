"""Hydra launcher plugin ``hydra/launcher=parallel``: the jobs of a multirun in parallel processes forked
from the sweep process.

Hydra instantiates launchers only from the ``hydra_plugins`` namespace; the logic (and its documentation)
is in :mod:`mtl_lab.sweeps.parallel_jobs`, imported when jobs are launched.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from mtl_lab.errors import exit_on_user_error

if TYPE_CHECKING:
    from mtl_lab.sweeps.parallel_jobs import Sweep


@dataclass
class ParallelLauncherConf:
    _target_: str = "hydra_plugins.mtl_lab_launcher.parallel.ParallelLauncher"
    # jobs running at once, as joblib counts: -1 one per CPU core, -2 all but one, ...
    n_jobs: int = -1
    # fork (the default on Linux: jobs start without importing again) or spawn (the default elsewhere)
    start_method: str | None = None
    # torch threads per job; null: OMP_NUM_THREADS if set, else CPU cores // jobs running at once
    threads_per_job: int | None = None


ConfigStore.instance().store(
    group="hydra/launcher", name="parallel", node=ParallelLauncherConf, provider="mtl_lab"
)


class ParallelLauncher(Launcher):
    def __init__(self, n_jobs: int, start_method: str | None, threads_per_job: int | None) -> None:
        self.n_jobs, self.start_method, self.threads_per_job = n_jobs, start_method, threads_per_job
        self.sweep: Sweep | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from mtl_lab.sweeps.parallel_jobs import Sweep, default_start_method
        from mtl_lab.sweeps.validated_configs import KEEP, ValidatedConfigs

        # the sweeper validates a batch through the shared context's loader; forked jobs inherit what it kept
        forked = (self.start_method or default_start_method()) == "fork"
        configs = ValidatedConfigs(hydra_context.config_loader, keep=KEEP if forked else 0)
        hydra_context.config_loader = configs
        self.sweep = Sweep(hydra_context, config, task_function, configs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from mtl_lab.sweeps.parallel_jobs import launch

        assert self.sweep is not None, "setup() comes first"
        with exit_on_user_error():
            return launch(
                self.sweep,
                job_overrides,
                initial_job_idx,
                n_jobs=self.n_jobs,
                start_method=self.start_method,
                threads_per_job=self.threads_per_job,
            )
