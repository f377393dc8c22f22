"""Check config values against the signature of what they will be passed to, before anything is built.

YAML configs are untyped, so ``trainer.max_epochs=abc`` would only fail deep inside Lightning. Here
every key is checked against the callee's parameters and their annotations (int, float, bool, str,
None, Literal, unions, lists and mappings of those); what cannot be checked (library classes) is
accepted, and so is a node with ``_target_`` where a class is expected. Errors are one line:
``trainer.max_epochs: expected int or None, got 'abc' (str)``.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from hydra.utils import get_object

from mtl_lab.errors import ConfigError

_SIMPLE = (bool, int, float, str)


def _functions(target: Callable[..., Any]) -> list[Callable[..., Any]]:
    """The callable itself, or for a class the ``__init__`` of every class in its MRO."""
    if not inspect.isclass(target):
        return [target]
    return [klass.__dict__["__init__"] for klass in target.__mro__ if "__init__" in klass.__dict__]


def _type_hints(target: Callable[..., Any]) -> dict[str, Any]:
    """Annotations of the parameters, following ``**kwargs`` up a class hierarchy."""
    hints: dict[str, Any] = {}
    for function in _functions(target):
        try:
            found = typing.get_type_hints(function)
        except Exception:
            found = {}
        for name, annotation in found.items():
            hints.setdefault(name, annotation)
    return hints


def _named_parameters(target: Callable[..., Any]) -> list[str] | None:
    """Keyword names ``target`` accepts, following ``**kwargs`` up the MRO; None if it takes anything."""
    names: list[str] = []
    for function in _functions(target):
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return None
        names += [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return [n for n in dict.fromkeys(names) if n != "self"]
    return None


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if annotation is type(None):
        return "None"
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    return getattr(annotation, "__name__", str(annotation))


def _matches(value: Any, annotation: Any) -> bool:
    if annotation is Any or annotation is inspect.Parameter.empty:
        return True
    if annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin in (list, tuple, collections.abc.Sequence, collections.abc.Iterable):
        if not isinstance(value, (list, tuple)):
            return False
        item = args[0] if args and (origin is not tuple or (len(args) == 2 and args[1] is Ellipsis)) else Any
        return all(_matches(v, item) for v in value)
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, Mapping):
            return False
        value_type = args[1] if len(args) == 2 else Any
        return all(_matches(v, value_type) for v in value.values())
    if isinstance(annotation, type):
        if isinstance(value, annotation):
            return True
        # a library class: accept a node to be instantiated, or anything not a plain scalar/list
        return isinstance(value, Mapping) or not isinstance(value, (*_SIMPLE, list, tuple))
    return True


def check_arguments(
    where: str,
    target: Callable[..., Any],
    kwargs: Mapping[str, Any],
    provided: Mapping[str, Any] | None = None,
    partial: bool = False,
) -> None:
    """Raise :class:`ConfigError` if ``kwargs`` (from YAML) do not fit ``target``'s signature.

    ``provided`` are arguments the caller supplies in code; ``partial`` allows missing arguments.
    """
    provided = provided or {}
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return
    names = _named_parameters(target)
    accepted = [n for n in names or signature.parameters if n not in provided]
    unknown = [k for k in kwargs if names is not None and k not in names]
    if unknown:
        raise ConfigError(f"{where}: unexpected key {unknown[0]!r}; accepted keys: {', '.join(accepted)}")
    try:
        (signature.bind_partial if partial else signature.bind)(**kwargs, **provided)
    except TypeError as err:
        raise ConfigError(f"{where}: {err}; accepted keys: {', '.join(accepted) or '(none)'}") from err
    hints = _type_hints(target)
    for key, value in kwargs.items():
        check_value(f"{where}.{key}", value, hints.get(key, Any))


def check_value(key: str, value: Any, annotation: Any) -> None:
    """Raise :class:`ConfigError` naming ``key`` if ``value`` does not fit ``annotation``."""
    if not _matches(value, annotation):
        raise ConfigError(f"{key}: expected {_describe(annotation)}, got {value!r} ({type(value).__name__})")


def check_target_node(where: str, node: Mapping[str, Any], provided: Mapping[str, Any] | None = None) -> None:
    """Check a Hydra ``_target_`` node's keys and value types against its target's signature."""
    target_path = node.get("_target_")
    if not isinstance(target_path, str):
        return
    try:
        target = get_object(target_path)
    except Exception as err:
        raise ConfigError(f"{where}._target_: cannot import {target_path!r}: {err}") from err
    kwargs = {k: v for k, v in node.items() if not (k.startswith("_") and k.endswith("_"))}
    check_arguments(where, target, kwargs, provided, partial=bool(node.get("_partial_", False)))
