"""Each job config composed once: the sweeper composes them to validate a batch; forked jobs reuse them.

Before launching a batch, Hydra's sweepers compose every job's config to validate it
(``Sweeper.validate_batch_is_legal``: "This repeat work the launcher will do, but as the launcher may be
performing this in a different process/machine it's important to do it here as well"). The parallel
launcher's jobs are forked from that very process, so the configs are already in their memory: this
config loader keeps what the sweeper composed (up to ``keep`` configs a batch) and each forked job takes
its own instead of composing it again (about 0.2 s of CPU a job for mtl_lab's configs on a 2-core
machine). A job whose config was not kept composes it as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.core.config_loader import ConfigLoader
from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.object_type import ObjectType
from hydra.plugins.config_source import ConfigSource
from hydra.types import RunMode
from omegaconf import DictConfig

KEEP = 256


def _key(master_config: DictConfig, sweep_overrides: Sequence[str]) -> tuple[int, tuple[str, ...]]:
    return id(master_config), tuple(sweep_overrides)


class ValidatedConfigs(ConfigLoader):
    """Hydra's ``loader``, keeping the job configs composed through :meth:`load_sweep_config`."""

    def __init__(self, loader: ConfigLoader, keep: int = KEEP) -> None:
        self.loader, self.keep = loader, keep
        self.kept: dict[tuple[int, tuple[str, ...]], DictConfig] = {}

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        config = self.loader.load_sweep_config(master_config, sweep_overrides)
        if len(self.kept) < self.keep:
            self.kept[_key(master_config, sweep_overrides)] = config
        return config

    def take(self, master_config: DictConfig, sweep_overrides: Sequence[str]) -> DictConfig:
        """The job's config: the one kept for it (no longer kept), else composed now."""
        kept = self.kept.pop(_key(master_config, sweep_overrides), None)
        if kept is not None:
            return kept
        return self.loader.load_sweep_config(master_config, list(sweep_overrides))

    def forget(self) -> None:
        self.kept.clear()

    # the rest of Hydra's ConfigLoader, unchanged
    def load_configuration(
        self,
        config_name: str | None,
        overrides: list[str],
        run_mode: RunMode,
        from_shell: bool = True,
        validate_sweep_overrides: bool = True,
    ) -> DictConfig:
        return self.loader.load_configuration(
            config_name, overrides, run_mode, from_shell, validate_sweep_overrides
        )

    def get_search_path(self) -> ConfigSearchPath:
        return self.loader.get_search_path()

    def get_sources(self) -> list[ConfigSource]:
        return self.loader.get_sources()

    def list_groups(self, parent_name: str) -> list[str]:
        return self.loader.list_groups(parent_name)

    def get_group_options(
        self,
        group_name: str,
        results_filter: ObjectType | None = ObjectType.CONFIG,
        config_name: str | None = None,
        overrides: list[str] | None = None,
    ) -> list[str]:
        return self.loader.get_group_options(group_name, results_filter, config_name, overrides)

    def compute_defaults_list(
        self, config_name: str | None, overrides: list[str], run_mode: RunMode
    ) -> Any:  # Hydra's DefaultsList (declared Any by ConfigLoader)
        return self.loader.compute_defaults_list(config_name, overrides, run_mode)
