"""Does a run's saved configuration still compose, to the same values? (``mtl-train resume=``)

A resumed run is composed again from ``conf/`` with the run's saved overrides plus the new ones. Before
Hydra runs it, :func:`check_recomposes` composes it the same way and compares the result with the run's
``.hydra/config.yaml`` (interpolations unresolved): every key of the saved config must still exist and
hold the same value, except under the keys the new overrides set and ``resume``. Keys that ``conf/``
gained since are accepted. Any difference is a one-line :class:`ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from mtl_lab.errors import ConfigError


def leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{dotted key: value}`` of every leaf of a nested dict (lists and empty dicts are leaves)."""
    if not isinstance(node, dict) or not node:
        return {prefix: node}
    found: dict[str, Any] = {}
    for key, value in node.items():
        found.update(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return found


def _under(key: str, prefixes: Iterable[str]) -> bool:
    return any(key == p or key.startswith(f"{p}.") for p in prefixes)


def check_recomposes(
    run_dir: Path, overrides: Sequence[str], changed: Iterable[str], config_dir: Path, config_name: str
) -> None:
    """Compose ``config_name`` from ``config_dir`` with ``overrides`` and compare it with the run's saved
    config, ignoring the keys under ``changed`` (see the module docstring)."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(config_dir), version_base="1.3"):
            composed = compose(config_name, overrides=list(overrides))
    except Exception as err:  # Hydra's composition errors name the override or group first
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"resume: the saved config of {run_dir} no longer composes: {reason}") from None
    finally:
        GlobalHydra.instance().clear()
    saved = leaves(OmegaConf.to_container(OmegaConf.load(run_dir / ".hydra" / "config.yaml")))
    now = leaves(OmegaConf.to_container(composed))
    skipped = ["resume", *changed]
    for key, value in saved.items():
        if _under(key, skipped):
            continue
        if key not in now:
            raise ConfigError(f"resume: {key}: in the saved config of {run_dir} but no longer in the config")
        if now[key] != value:
            raise ConfigError(
                f"resume: {key}: the run was saved with {value!r} but the config now gives {now[key]!r}; "
                f"add {key}=<value> to resume with a value of your choice"
            )
