"""Shared fixtures: compose the real Hydra configs with small, fast overrides."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cli_runner
import pytest
from hydra import compose, initialize_config_dir
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_config_search_path
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from mtl_lab.config import config_dir

REPO = Path(__file__).resolve().parents[1]

#: Overrides that make any MultiDigits run take a couple of seconds on a CPU.
FAST = [
    "data.train_size=256",
    "data.val_size=128",
    "data.test_size=128",
    "data.batch_size=64",
    "trainer.max_epochs=2",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "~callbacks.rich_progress_bar",
]
#: A small CNN for MultiDigits.
SMALL_CNN = ["encoder.channels=[8,8]", "encoder.out_dim=16"]


@pytest.fixture(autouse=True, scope="session")
def wandb_offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """W&B never touches the network in tests: runs are offline (in-process and in subprocesses), and
    its settings, cache and artifact staging live in a temporary directory, not in the user's home."""
    home = tmp_path_factory.mktemp("wandb_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")
        for variable in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
            patch.setenv(variable, str(home / variable.lower()))
        yield


def compose_config(overrides: Sequence[str], output_dir: Path) -> DictConfig:
    """The config `mtl-train <overrides>` would run, with its outputs under ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=list(overrides))
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.log_dir = str(output_dir)
    return cfg


def run_multirun(task_function: Callable[[DictConfig], object], overrides: Sequence[str]) -> None:
    """`mtl-train -m <overrides>` in this process, each job running ``task_function`` instead of training."""
    GlobalHydra.instance().clear()
    hydra = Hydra.create_main_hydra2(
        task_name="train", config_search_path=create_config_search_path(str(config_dir()))
    )
    try:
        hydra.multirun(
            config_name="train",
            task_function=task_function,  # type: ignore[arg-type]
            overrides=[*overrides, "hydra.mode=MULTIRUN"],
            with_log_configuration=False,
        )
    finally:
        GlobalHydra.instance().clear()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., DictConfig]:
    def make(*overrides: str, fast: bool = True) -> DictConfig:
        return compose_config([*(FAST if fast else []), *overrides], tmp_path / "run")

    return make


#: The forkserver that CLI runs are forked from imports these once (cli_runner: ~10 s saved per run).
cli_runner.preload(["mtl_lab.experiment", "mtl_lab.ddp"])


def run_cli(
    args: Sequence[str], cwd: Path, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mtl_lab.train <args>`` the way a user would (a process of its own, forked from a
    server that has the imports done), tests/ on PYTHONPATH for helpers."""
    environment = {**os.environ, "PYTHONPATH": str(REPO / "tests"), **env}
    return cli_runner.run_python("mtl_lab.train", args, cwd=cwd, env=environment, timeout=timeout)
