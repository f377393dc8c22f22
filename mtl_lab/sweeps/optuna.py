"""A resumable Optuna search over Hydra overrides (``hydra/sweeper=mtl_optuna``, see ``conf/hparams_search``).

It samples like hydra-optuna-sweeper 1.3 (same ``params`` syntax: ``choice``, ``interval``, ``range``,
``tag(log, ...)``; command-line sweep overrides join the search space, plain overrides are passed to
every trial) and differs where a long search needs it:

- **Resume.** The study lives in ``storage`` (the search configs: ``<sweep dir>/optuna.db``) and is
  loaded if it exists. ``n_trials`` counts the trials of the *study*: run again with the same
  ``hydra.sweep.dir``, a search runs only the trials still missing. A trial left ``RUNNING`` by a
  killed search is marked failed with the user attribute ``interrupted`` and does not count. A
  resumed search reseeds the sampler (a seeded sampler would otherwise redraw the first parameters).
- **Job numbers are trial numbers**, so a resumed search continues after the existing job
  directories and never writes into one (it stops with an error rather than overwrite one).
- **Failures are data.** A trial whose job failed or diverged, or whose optimized metric is missing or
  not finite, is told to Optuna as ``FAIL`` (no value is made up); its user attributes record
  ``status``, ``error``, ``job_dir``. The search goes on.
- ``<sweep dir>/optimization_results.yaml`` names the best trial (number, value, params, job
  directory) next to hydra-optuna-sweeper's ``best_params``/``best_value``. With no completed trial it
  says so and the search exits with status 1.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from pathlib import Path
from typing import Any

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_optuna_sweeper._impl import create_optuna_distribution_from_override
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, Trial, TrialState

from mtl_lab.errors import ConfigError
from mtl_lab.sweeps.summary import write_sweep_summary

log = logging.getLogger(__name__)

RESULTS_FILE = "optimization_results.yaml"
_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def split_search_space(overrides: list[str]) -> tuple[dict[str, BaseDistribution], list[str]]:
    """Sweep overrides -> Optuna distributions by key; plain overrides are kept as given."""
    distributions: dict[str, BaseDistribution] = {}
    fixed: list[str] = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_sweep_override():
            distributions[override.get_key_element()] = create_optuna_distribution_from_override(override)
        else:
            fixed.append(override.input_line)
    return distributions, fixed


def counted_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that count towards ``n_trials``: finished, and not cut short by a killed search."""
    trials = study.get_trials(deepcopy=False, states=_FINISHED)
    return [t for t in trials if not t.user_attrs.get("interrupted")]


def mark_interrupted(study: optuna.Study) -> list[int]:
    """Mark trials left running by a killed search as failed (``interrupted``); their numbers."""
    numbers = []
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        trial = Trial(study, frozen._trial_id)
        trial.set_user_attr("interrupted", True)
        trial.set_user_attr("status", "failed")
        trial.set_user_attr("error", "interrupted: the search was killed during this trial")
        study.tell(frozen.number, state=TrialState.FAIL)
        numbers.append(frozen.number)
    return numbers


def _job_outcome(ret: JobReturn) -> tuple[dict[str, Any], float | None]:
    """The job's summary fields for the trial's user attributes, and its objective (None: failed)."""
    job_dir = Path(str(ret.hydra_cfg.hydra.runtime.output_dir)) if ret.hydra_cfg else None
    summary_file = job_dir / "summary.json" if job_dir else None
    summary = json.loads(summary_file.read_text()) if summary_file and summary_file.is_file() else {}
    status = summary.get("status", "failed")
    attrs: dict[str, Any] = {"job_dir": str(job_dir), "status": status}
    if ret.status != JobStatus.COMPLETED:
        attrs["error"] = f"{type(ret._return_value).__name__}: {ret._return_value}".splitlines()[0]
        return attrs, None
    if summary.get("error"):
        attrs["error"] = summary["error"]
    value = ret.return_value
    if status != "completed" or not isinstance(value, (int, float)) or not math.isfinite(value):
        attrs.setdefault("error", f"no finite optimized metric (got {value!r})")
        return attrs, None
    return attrs, float(value)


class ResumableOptunaSearch:
    def __init__(
        self,
        sampler: Any,
        direction: str,
        storage: str | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        params: DictConfig | None,
    ) -> None:
        if isinstance(sampler, functools.partial):  # GridSampler needs the space up front
            raise ConfigError(
                "hydra/sweeper/sampler: grid is not supported by mtl_optuna; use tpe, random or cmaes"
            )
        if direction not in ("minimize", "maximize"):
            raise ConfigError(f"hydra.sweeper.direction: expected minimize or maximize, got {direction!r}")
        if n_trials < 1 or n_jobs < 1:
            raise ConfigError(f"hydra.sweeper: n_trials and n_jobs must be >= 1, got {n_trials}, {n_jobs}")
        self.sampler = sampler
        self.direction = direction
        self.storage = storage
        self.study_name = study_name
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.params = dict(params or {})

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )
        sweep_dir = Path(str(config.hydra.sweep.dir))
        self.sweep_dir = sweep_dir if sweep_dir.is_absolute() else Path(config.hydra.runtime.cwd) / sweep_dir

    def sweep(self, arguments: list[str]) -> None:
        distributions, fixed = split_search_space([f"{k}={v}" for k, v in self.params.items()] + arguments)
        if not distributions:
            raise ConfigError(
                "hydra.sweeper.params: empty search space (select one with hparams_search=<name>)"
            )
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        study = optuna.create_study(
            study_name=self.study_name,
            storage=self.storage,
            sampler=self.sampler,
            direction=self.direction,
            load_if_exists=True,
        )
        interrupted = mark_interrupted(study)
        if study.trials:  # a resumed search: a seeded sampler would redraw the first run's parameters
            self.sampler.reseed_rng()
        remaining = self.n_trials - len(counted_trials(study))
        log.info(
            "Optuna study %r in %s (%s, %s): %d of %d trials to run%s",
            study.study_name,
            self.storage,
            type(self.sampler).__name__,
            self.direction,
            max(remaining, 0),
            self.n_trials,
            f"; trials {interrupted} were interrupted and are marked failed" if interrupted else "",
        )
        while remaining > 0:
            trials = [study.ask() for _ in range(min(self.n_jobs, remaining))]
            for trial in trials:
                if (self.sweep_dir / str(trial.number)).exists():
                    raise ConfigError(
                        f"hydra.sweep.dir: job directory {self.sweep_dir / str(trial.number)} of trial "
                        f"{trial.number} exists already; not overwriting it (use a new sweep dir)"
                    )
            overrides = [
                [*fixed, *(f"{name}={trial._suggest(name, dist)}" for name, dist in distributions.items())]
                for trial in trials
            ]
            returns = self.launcher.launch(overrides, initial_job_idx=trials[0].number)
            for trial, ret in zip(trials, returns, strict=True):
                attrs, value = _job_outcome(ret)
                for key, attr in attrs.items():
                    trial.set_user_attr(key, attr)
                if value is None:
                    log.warning("trial %d %s: %s", trial.number, attrs["status"], attrs.get("error"))
                    study.tell(trial, state=TrialState.FAIL)
                else:
                    study.tell(trial, value)
            remaining -= len(trials)
        self._write_results(study)

    def _write_results(self, study: optuna.Study) -> None:
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = study.best_trial if completed else None
        results: dict[str, Any] = {
            "name": "optuna",
            "study_name": study.study_name,
            "storage": self.storage,
            "direction": self.direction,
            "optimized_metric": str(self.config.get("optimized_metric")),
            "n_trials": self.n_trials,
            "trials": {
                "completed": len(completed),
                "failed": len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))),
                "interrupted": sum(bool(t.user_attrs.get("interrupted")) for t in study.trials),
            },
            "best_trial": None,
            "best_params": None,
            "best_value": None,
        }
        if best is not None:
            results["best_trial"] = {
                "number": best.number,
                "value": best.value,
                "params": best.params,
                "job_dir": best.user_attrs.get("job_dir"),
            }
            results["best_params"] = best.params
            results["best_value"] = best.value
            log.info("Best trial %d: value %s, params %s", best.number, best.value, best.params)
        OmegaConf.save(OmegaConf.create(results), self.sweep_dir / RESULTS_FILE)
        if best is None:
            write_sweep_summary(self.sweep_dir, finished=True)
            raise SystemExit(
                f"mtl-train: error: no trial of Optuna study {study.study_name!r} completed; "
                f"see {self.sweep_dir / RESULTS_FILE}"
            )
