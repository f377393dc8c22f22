"""A finished run's config for mtl-predict: :func:`mtl_lab.evaluation.load_run_config` (the run's own
config, single-process) with one more choice than mtl-eval has: ``trainer=<option>`` puts a trainer of
``conf/trainer/`` in place of the run's (``trainer=ddp_cpu``: predict on two processes); the other
arguments override the run's config as in mtl-eval, after it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from mtl_lab.config import config_dir
from mtl_lab.errors import unknown_choice
from mtl_lab.evaluation import apply_overrides, load_run_config

#: The config group that mtl-predict may select anew.
TRAINER_GROUP = "trainer"


def trainer_options() -> list[str]:
    return sorted(p.stem for p in (config_dir() / TRAINER_GROUP).glob("*.yaml"))


def compose_trainer(option: str) -> DictConfig:
    """The ``trainer`` node that ``mtl-train trainer=<option>`` composes."""
    if option not in trainer_options():
        raise unknown_choice(TRAINER_GROUP, option, trainer_options(), "trainer")
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        composed = compose("train", overrides=[f"{TRAINER_GROUP}={option}"])
    GlobalHydra.instance().clear()
    return composed.trainer


def prediction_config(run_dir: str | Path, overrides: Sequence[str]) -> DictConfig:
    """The run's config with ``trainer=<option>`` and then the other ``overrides`` applied."""
    cfg = load_run_config(run_dir)
    others = []
    for override in overrides:
        key, sep, value = override.partition("=")
        if sep and key == TRAINER_GROUP:
            with open_dict(cfg):
                cfg.trainer = compose_trainer(value)
        else:
            others.append(override)
    apply_overrides(cfg, others)
    return cfg
