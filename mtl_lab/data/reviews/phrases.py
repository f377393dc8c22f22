"""Opinion phrases that fill the opinion slots of a template with a wanted polarity.

``{ADJ}``: an adjective of that polarity, maybe intensified (``really clean``), or, 30% of the time, a
negated adjective of the opposite one (``not very clean``, ``never dirty``, ``hardly clean``); ``{ATTR}``:
an adjective of that polarity, maybe intensified, never negated; ``{FEEL}``: a feeling, negated 35% of the
time (``never disappointed``, ``not at all impressed``); ``{REC}``: ``recommend`` / ``definitely
recommend`` or ``avoid`` / ``not recommend`` / ``never recommend``. By :mod:`.rules` every phrase counts
exactly the wanted polarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from mtl_lab.data.reviews.lexicon import ADJECTIVES, FEELINGS, INTENSIFIERS

NEGATED_ADJECTIVE = 0.3
NEGATED_FEELING = 0.35
INTENSIFIED = 0.4
NEGATIONS = (("not",), ("not", "very"), ("not", "at", "all"), ("never",), ("hardly",))
RECOMMEND = {
    1: (("recommend",), ("definitely", "recommend")),
    -1: (("avoid",), ("definitely", "avoid"), ("not", "recommend"), ("never", "recommend")),
}

T = TypeVar("T")


def _pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def _maybe_intensified(rng: np.random.Generator, word: str) -> list[str]:
    return [_pick(rng, INTENSIFIERS), word] if rng.random() < INTENSIFIED else [word]


def _negated(rng: np.random.Generator, word: str) -> list[str]:
    return [*_pick(rng, NEGATIONS), word]


def opinion_phrase(rng: np.random.Generator, slot: str, polarity: int) -> list[str]:
    """The words of an opinion ``slot`` (``{ADJ}``, ``{ATTR}``, ``{FEEL}``, ``{REC}``) of ``polarity`` ±1."""
    if slot == "{ADJ}":
        if rng.random() < NEGATED_ADJECTIVE:
            return _negated(rng, _pick(rng, ADJECTIVES[-polarity]))
        return _maybe_intensified(rng, _pick(rng, ADJECTIVES[polarity]))
    if slot == "{ATTR}":
        return _maybe_intensified(rng, _pick(rng, ADJECTIVES[polarity]))
    if slot == "{FEEL}":
        if rng.random() < NEGATED_FEELING:
            return _negated(rng, _pick(rng, FEELINGS[-polarity]))
        return _maybe_intensified(rng, _pick(rng, FEELINGS[polarity]))
    if slot == "{REC}":
        return list(_pick(rng, RECOMMEND[polarity]))
    raise ValueError(f"not an opinion slot: {slot!r}")
