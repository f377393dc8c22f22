"""The ``key=value`` arguments of the run commands (``mtl-eval``, ``mtl-predict``, ``mtl-export``): the
command's own keys, taken verbatim (paths may hold any character), apart from the config overrides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mtl_lab.errors import ConfigError


def split_own_arguments(
    argv: Sequence[str], own_keys: Sequence[str], required: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """The values of ``own_keys`` and the config overrides (every other argument, in order); a key of
    ``required`` that is missing or empty is a one-line error: ``<key>: missing; pass <required[key]>``."""
    own: dict[str, str] = {}
    overrides = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in own_keys:
            own[key] = value
        else:
            overrides.append(arg)
    for key, how in required.items():
        if not own.get(key):
            raise ConfigError(f"{key}: missing; pass {how}")
    return own, overrides
