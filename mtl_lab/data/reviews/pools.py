"""The three disjoint pools of the reviews generator, so that validation and test sentences use names
and clauses that training never sees.

Item ``i`` of a list belongs to ``val`` when ``i % 8 == 6``, to ``test`` when ``i % 8 == 7`` and to
``train`` otherwise (6 of every 8 items); lists are written in groups of 8 so that every group reaches
every split. A name made of two parts (``heads[a] + tails[b]``) belongs to the split of ``a + b``: every
part appears in every split, every whole name in one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from mtl_lab.errors import ConfigError

SPLITS = ("train", "val", "test")
GROUP = 8
_HELD_OUT = {6: "val", 7: "test"}

T = TypeVar("T")


def split_of(index: int) -> str:
    """The split that item ``index`` of any pooled list belongs to."""
    return _HELD_OUT.get(index % GROUP, "train")


def _check(split: str) -> None:
    if split not in SPLITS:
        raise ConfigError(f"reviews: unknown split {split!r}; choices: {', '.join(SPLITS)}")


def pool(items: Sequence[T], split: str) -> tuple[T, ...]:
    """The items of ``split`` (``train``, ``val`` or ``test``), in list order."""
    _check(split)
    return tuple(item for index, item in enumerate(items) if split_of(index) == split)


def pair_pool(heads: Sequence[str], tails: Sequence[str], split: str) -> tuple[str, ...]:
    """The names ``head + tail`` of ``split``: pair (a, b) belongs to the split of ``a + b``."""
    _check(split)
    return tuple(
        head + tail
        for a, head in enumerate(heads)
        for b, tail in enumerate(tails)
        if split_of(a + b) == split
    )
