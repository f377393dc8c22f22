"""Where the Hydra configs live and the OmegaConf resolvers they use."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

from mtl_lab.tasks import metric_direction


def config_dir() -> Path:
    """``conf/`` of a source checkout (editable install), else the copy packaged in the wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "conf", package / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"mtl_lab: no conf/train.yaml next to {package}")


def optuna_direction(logged_name: str) -> str:
    """``minimize``/``maximize``: the Optuna study direction of an optimized metric."""
    return {"min": "minimize", "max": "maximize"}[metric_direction(logged_name)]


def register_resolvers() -> None:
    """``${metric_mode:val/left/accuracy}`` -> ``max`` (checkpoint/early-stopping mode of a metric),
    ``${optuna_direction:val/loss}`` -> ``minimize``, ``${abspath:outputs/x}`` -> ``/cwd/outputs/x``."""
    resolvers = {
        "metric_mode": metric_direction,
        "optuna_direction": optuna_direction,
        "abspath": os.path.abspath,
    }
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


register_resolvers()
