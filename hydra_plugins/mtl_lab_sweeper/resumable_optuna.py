"""Hydra sweeper plugin ``hydra/sweeper=mtl_optuna``: hydra-optuna-sweeper's search, resumable.

Hydra instantiates sweepers only from the ``hydra_plugins`` namespace; the logic (and its
documentation) is in :mod:`mtl_lab.sweeps.optuna`, imported when a search starts so that plain
runs do not import Optuna.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import MISSING, DictConfig

from mtl_lab.errors import exit_on_user_error


@dataclass
class ResumableOptunaSweeperConf:
    _target_: str = "hydra_plugins.mtl_lab_sweeper.resumable_optuna.ResumableOptunaSweeper"
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}])
    # hydra/sweeper/sampler: tpe (default), random, cmaes (hydra-optuna-sweeper's sampler configs)
    sampler: Any = MISSING
    # minimize or maximize; the search configs derive it from optimized_metric
    direction: str = "minimize"
    # Optuna storage URL; the search configs use sqlite:///<sweep dir>/optuna.db
    storage: str | None = None
    study_name: str | None = None
    # trials of the whole study: a resumed search runs the ones still missing
    n_trials: int = 20
    # trials asked (and launched) together: 1 = strictly sequential TPE
    n_jobs: int = 1
    # search space: {key: sweep override}, e.g. {optimizer.lr: "tag(log, interval(1e-4, 1e-2))"}
    params: dict[str, str] | None = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="mtl_optuna", node=ResumableOptunaSweeperConf, provider="mtl_lab"
)


class ResumableOptunaSweeper(Sweeper):
    def __init__(self, **settings: Any) -> None:
        from mtl_lab.sweeps.optuna import ResumableOptunaSearch

        with exit_on_user_error():
            self.search = ResumableOptunaSearch(**settings)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        with exit_on_user_error():
            self.search.sweep(arguments)
