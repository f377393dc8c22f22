"""ValidatedConfigs: the job configs a sweeper composed to validate a batch, taken by the forked jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.utils import create_config_search_path
from hydra.types import RunMode
from omegaconf import DictConfig

from mtl_lab.config import config_dir
from mtl_lab.sweeps.validated_configs import ValidatedConfigs


class CountingLoader(ConfigLoaderImpl):
    """Hydra's config loader, counting the job configs it composes."""

    composed: int = 0

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        self.composed += 1
        return super().load_sweep_config(master_config, sweep_overrides)


@pytest.fixture(scope="module")
def loader() -> CountingLoader:
    return CountingLoader(config_search_path=create_config_search_path(str(config_dir())))


@pytest.fixture(scope="module")
def master(loader: CountingLoader) -> DictConfig:
    return loader.load_configuration("train", ["hydra.mode=MULTIRUN"], RunMode.MULTIRUN)


@pytest.fixture
def kept(loader: CountingLoader) -> Iterator[ValidatedConfigs]:
    loader.composed = 0
    yield ValidatedConfigs(loader, keep=2)


def test_a_job_takes_the_config_its_validation_composed_once(
    kept: ValidatedConfigs, loader: CountingLoader, master: DictConfig
) -> None:
    validated = kept.load_sweep_config(master, ["seed=3"])
    assert validated.seed == 3 and loader.composed == 1
    assert kept.take(master, ("seed=3",)) is validated, "the same config, not composed again"
    assert loader.composed == 1
    again = kept.take(master, ["seed=3"])
    assert again is not validated and again.seed == 3 and loader.composed == 2, "taken once only"


def test_configs_beyond_the_limit_are_composed_by_their_job(
    kept: ValidatedConfigs, loader: CountingLoader, master: DictConfig
) -> None:
    for seed in (1, 2, 3):
        kept.load_sweep_config(master, [f"seed={seed}"])
    assert len(kept.kept) == 2
    assert [kept.take(master, [f"seed={seed}"]).seed for seed in (1, 2, 3)] == [1, 2, 3]
    assert loader.composed == 4, "three to validate, the third again by its job"


def test_forget_drops_what_no_job_took(
    kept: ValidatedConfigs, loader: CountingLoader, master: DictConfig
) -> None:
    kept.load_sweep_config(master, ["seed=1"])
    kept.forget()
    assert kept.take(master, ["seed=1"]).seed == 1 and loader.composed == 2


def test_another_master_config_is_another_sweep(
    kept: ValidatedConfigs, loader: CountingLoader, master: DictConfig
) -> None:
    kept.load_sweep_config(master, ["seed=1"])
    other = master.copy()
    assert kept.take(other, ["seed=1"]).seed == 1 and loader.composed == 2


def test_everything_else_is_hydras_loader(kept: ValidatedConfigs, loader: CountingLoader) -> None:
    assert kept.get_search_path() is loader.get_search_path()
    assert kept.get_sources() == loader.get_sources()
    assert kept.list_groups("") == loader.list_groups("") and "weighting" in kept.list_groups("")
    assert kept.get_group_options("weighting") == loader.get_group_options("weighting")
    assert "upgrad" in kept.get_group_options("weighting")
    defaults = kept.compute_defaults_list("train", ["weighting=upgrad"], RunMode.RUN)
    paths = [d.config_path for d in defaults.defaults]
    direct = loader.compute_defaults_list("train", ["weighting=upgrad"], RunMode.RUN)
    assert paths == [d.config_path for d in direct.defaults] and "weighting/upgrad" in paths
    config = kept.load_configuration("train", ["weighting=upgrad"], RunMode.RUN)
    assert config.weighting.name == "upgrad"
