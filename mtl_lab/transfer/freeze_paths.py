"""The ``freeze`` path grammar: which modules and parameters of a :class:`MultiTaskModel` a path names.

A path is one of:

- ``encoder``: every outermost :class:`~mtl_lab.models.encoders.Encoder` inside the architecture (the
  shared encoder; MMoE/CGC/PLE experts and gate encoders; one column per task in cross-stitch);
- a module's dotted name relative to the model, as in ``model.named_modules()``: ``architecture``
  (the whole architecture), ``architecture.encoder``, ``architecture.experts.0``, ``heads`` (every
  head), ``heads.left``, ``architecture.encoder.fc``;
- a parameter's dotted name, as in ``model.named_parameters()``: ``heads.left.linear.bias``.

A module path freezes all of the module's parameters and puts the module in eval mode during training;
a parameter path freezes that parameter only. A path that names nothing, or a module without parameters,
is a one-line :class:`ConfigError` listing the closest paths.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import nn

from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders import Encoder
from mtl_lab.models.model import MultiTaskModel

ENCODER = "encoder"


@dataclass
class FreezeTargets:
    """Names (relative to the model) of the modules and the single parameters the paths select."""

    modules: dict[str, nn.Module] = field(default_factory=dict)
    parameters: dict[str, nn.Parameter] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [*self.modules, *self.parameters]


def encoder_paths(model: MultiTaskModel) -> list[str]:
    """The outermost :class:`Encoder` modules of the architecture, by name relative to the model."""
    found: list[str] = []
    for name, module in model.architecture.named_modules(prefix="architecture"):
        if isinstance(module, Encoder) and not any(name.startswith(f + ".") for f in found):
            found.append(name)
    return found


def _unknown(path: str, candidates: Sequence[str]) -> ConfigError:
    close = difflib.get_close_matches(path, candidates, n=3, cutoff=0.5)
    hint = f"closest: {', '.join(close)}" if close else f"e.g. {', '.join(candidates[:4])}"
    return ConfigError(
        f"freeze: {path!r} names no module or parameter of the model; {hint} "
        "(paths: encoder, or names relative to the model: architecture.<...>, heads.<task>)"
    )


def resolve_freeze_paths(model: MultiTaskModel, paths: Sequence[str]) -> FreezeTargets:
    """What ``paths`` select in ``model`` (the grammar above); one-line errors for paths naming nothing."""
    modules = {name: m for name, m in model.named_modules() if name}
    parameters = dict(model.named_parameters())
    targets = FreezeTargets()
    for path in paths:
        if path == ENCODER:
            found = encoder_paths(model)
            if not found:
                name = type(model.architecture).__name__
                raise ConfigError(f"freeze: 'encoder': {name} has no encoder module")
            targets.modules.update({name: modules[name] for name in found})
        elif path in modules:
            if not any(True for _ in modules[path].parameters()):
                raise ConfigError(f"freeze: {path!r} has no parameters to freeze")
            targets.modules[path] = modules[path]
        elif path in parameters:
            targets.parameters[path] = parameters[path]
        else:
            raise _unknown(path, [ENCODER, *modules, *parameters])
    return targets
