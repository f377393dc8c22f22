"""Where the Hydra configs live and the OmegaConf resolvers they use."""

from __future__ import annotations

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


def register_resolvers() -> None:
    """``${metric_mode:val/left/accuracy}`` -> ``max``: checkpoint/early-stopping mode of a metric."""
    if not OmegaConf.has_resolver("metric_mode"):
        OmegaConf.register_new_resolver("metric_mode", metric_direction)


register_resolvers()
