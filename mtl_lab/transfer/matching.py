"""Match a checkpoint's model tensors to a new model's by name and shape, and name them compactly.

:func:`match_state` sorts every tensor name of the two state dicts (parameters and buffers, e.g.
BatchNorm statistics) into ``loaded`` (same name and shape), ``new`` (only in the new model),
``dropped`` (only in the checkpoint) and ``mismatched`` (same name, another shape: initialised fresh).
:func:`group_names` turns such a list into module prefixes (``heads.left`` for every tensor of that head)
so that the lists stay readable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from torch import Tensor

#: Prefixes are never shorter than this many dotted parts (``architecture.encoder``, ``heads.left``).
MIN_GROUP_DEPTH = 2


@dataclass
class StateMatch:
    """Tensor names in the new model's order (``dropped``: the checkpoint's order); ``mismatched`` maps a
    name to its (checkpoint shape, new model shape)."""

    loaded: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    mismatched: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every tensor name of both state dicts: the new model's, then the dropped ones."""
        return [*self.loaded, *self.new, *self.mismatched, *self.dropped]


def match_state(source: Mapping[str, Tensor], target: Mapping[str, Tensor]) -> StateMatch:
    """Sort the names of ``source`` (the checkpoint's model state) and ``target`` (the new model's)."""
    match = StateMatch()
    for name, tensor in target.items():
        if name not in source:
            match.new.append(name)
        elif source[name].shape == tensor.shape:
            match.loaded.append(name)
        else:
            match.mismatched[name] = (list(source[name].shape), list(tensor.shape))
    match.dropped = [name for name in source if name not in target]
    return match


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:depth]) for depth in range(min(MIN_GROUP_DEPTH, len(parts)), len(parts) + 1)]


def group_names(selected: Sequence[str], universe: Sequence[str]) -> list[str]:
    """The shortest module prefixes (of at least :data:`MIN_GROUP_DEPTH` parts) whose tensors in
    ``universe`` are all ``selected``, covering exactly ``selected``; in order of first appearance."""
    chosen = set(selected)
    groups: dict[str, None] = {}
    for name in selected:
        for prefix in _prefixes(name):
            under = (n for n in universe if n == prefix or n.startswith(prefix + "."))
            if all(n in chosen for n in under):
                groups.setdefault(prefix, None)
                break
    return list(groups)
