"""Name -> builder registries for the component families that YAML configs select by name.

A component is built from a node such as ``{name: cnn, channels: 32}``: ``name`` picks the class,
the other keys are its keyword arguments. ``name: my_pkg.module:MyClass`` imports a user's own class
without registering it. Unknown names fail with one line naming the group, the value, the choices and
the closest match.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.typecheck import check_arguments

T = TypeVar("T")


class Registry(Generic[T]):
    """A named family of components (``encoder``, ``head``, ``architecture``, ``weighting``, ``data``)."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._builders: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Class decorator registering a builder under ``name``; registering a name twice is an error."""

        def decorator(builder: Callable[..., T]) -> Callable[..., T]:
            if name in self._builders:
                raise ConfigError(
                    f"{self.group}: name {name!r} is already registered to {self._builders[name]!r}"
                )
            self._builders[name] = builder
            return builder

        return decorator

    def names(self) -> list[str]:
        return sorted(self._builders)

    def __contains__(self, name: object) -> bool:
        return name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def resolve(self, name: str) -> Callable[..., T]:
        """Return the builder for a registered name or a ``pkg.module:Attr`` path."""
        if ":" in name:
            return _import_path(self.group, name)
        if name not in self._builders:
            raise unknown_choice(f"{self.group}.name", name, self._builders, self.group)
        return self._builders[name]

    def build(self, spec: Mapping[str, Any], **extra: Any) -> T:
        """Build from ``{name: ..., **kwargs}``; ``extra`` are keyword arguments supplied by the caller."""
        if not isinstance(spec, Mapping) or "name" not in spec:
            raise ConfigError(f"{self.group}: expected a mapping with a 'name' key, got {spec!r}")
        name = str(spec["name"])
        kwargs = {k: v for k, v in spec.items() if k != "name"}
        builder = self.resolve(name)
        check_arguments(f"{self.group}.{name}", builder, kwargs, extra)
        return builder(**kwargs, **extra)


def _import_path(group: str, path: str) -> Callable[..., Any]:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"{group}.name: cannot import module {module_name!r} from {path!r}: {err}") from err
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise ConfigError(f"{group}.name: module {module_name!r} has no attribute {attr!r}") from err
