"""Where the Hydra configs live and the OmegaConf resolvers they use."""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from mtl_lab.names import metric_direction


def config_dir() -> Path:
    """``conf/`` of a source checkout (editable install), else the copy packaged in the wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "conf", package / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"mtl_lab: no conf/train.yaml next to {package}")


def _multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def sweep_dir() -> str | None:
    """``${sweep_dir:}``: the multirun's sweep directory (``hydra.sweep.dir``); null in a single run
    and outside a Hydra job (a config composed in Python)."""
    return str(HydraConfig.get().sweep.dir) if _multirun() else None


def job_name() -> str | None:
    """``${job_name:}``: a readable name for the run: ``<job number>:<overrides>`` in a multirun
    (``0:weighting=fixed``), the command-line overrides in a single run (``weighting=gradnorm``), else
    the run directory's name; null outside a Hydra job."""
    if not HydraConfig.initialized():
        return None
    job = HydraConfig.get().job
    overrides = str(job.override_dirname or "")
    if _multirun():
        return f"{job.num}:{overrides}" if overrides else str(job.num)
    return overrides or Path(HydraConfig.get().runtime.output_dir).name


def optuna_direction(logged_name: str) -> str:
    """``minimize``/``maximize``: the Optuna study direction of an optimized metric."""
    return {"min": "minimize", "max": "maximize"}[metric_direction(logged_name)]


def register_resolvers() -> None:
    """``${metric_mode:val/left/accuracy}`` -> ``max`` (checkpoint/early-stopping mode of a metric),
    ``${optuna_direction:val/loss}`` -> ``minimize``, ``${abspath:outputs/x}`` -> ``/cwd/outputs/x``,
    ``${sweep_dir:}`` and ``${job_name:}`` (above, used to group and name W&B runs)."""
    resolvers = {
        "metric_mode": metric_direction,
        "optuna_direction": optuna_direction,
        "abspath": os.path.abspath,
        "sweep_dir": sweep_dir,
        "job_name": job_name,
    }
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


register_resolvers()
