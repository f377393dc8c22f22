"""One review sentence: a template filled with names of one split and opinion phrases of one polarity.

A :class:`Sentence` has its words (punctuation as separate words), one BIO tag per word (``B-PER``
begins a person, ``I-PER`` continues it; ``O`` outside any entity) and its sentiment by the rules
(:func:`~.rules.sentiment_of`). Entities of one sentence are distinct, never adjacent, and names come
from the split's pools only (:class:`NamePools`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtl_lab.data.reviews.names import (
    ENDINGS,
    ONSETS,
    ORGANISATION_SUFFIXES,
    PLACE_HEADS,
    PLACE_PREFIXES,
    PLACE_SUFFIXES,
    PLACE_TAILS,
    ROOTS,
    STEM_HEADS,
    STEM_TAILS,
    SURNAME_SUFFIXES,
)
from mtl_lab.data.reviews.phrases import opinion_phrase
from mtl_lab.data.reviews.pools import pair_pool
from mtl_lab.data.reviews.rules import sentiment_of
from mtl_lab.data.reviews.templates import ENTITY_SLOTS, OPINION_SLOTS

TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
FULL_NAME = 0.55  # a person is "First Last" this often, else "First"
PLACE_WORD = 0.25  # a location has a place word ("Port X", "X Bay") this often
_CONSONANT_SOUNDING = ("useless",)


@dataclass(frozen=True)
class Sentence:
    """Words, their BIO tags (one each) and the sentiment (``negative`` / ``positive``)."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    sentiment: str


@dataclass(frozen=True)
class NamePools:
    """The names of one split (see :mod:`.names`)."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    stems: tuple[str, ...]
    places: tuple[str, ...]

    @classmethod
    def of(cls, split: str) -> NamePools:
        return cls(
            pair_pool(ONSETS, ENDINGS, split),
            pair_pool(ROOTS, SURNAME_SUFFIXES, split),
            pair_pool(STEM_HEADS, STEM_TAILS, split),
            pair_pool(PLACE_HEADS, PLACE_TAILS, split),
        )

    def entity(self, rng: np.random.Generator, kind: str, domain: str) -> str:
        """A random name of ``kind`` (``PER``, ``ORG``, ``LOC``); organisations take ``domain``'s suffixes."""
        if kind == "PER":
            first = _pick(rng, self.first)
            return f"{first} {_pick(rng, self.last)}" if rng.random() < FULL_NAME else first
        if kind == "ORG":
            return f"{_pick(rng, self.stems)} {_pick(rng, ORGANISATION_SUFFIXES[domain])}"
        place = _pick(rng, self.places)
        if rng.random() < PLACE_WORD:
            if rng.random() < 0.5:
                return f"{_pick(rng, PLACE_PREFIXES)} {place}"
            return f"{place} {_pick(rng, PLACE_SUFFIXES)}"
        return place


def _pick(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def slot_polarities(words: tuple[str, ...], polarity: int) -> list[int]:
    """The polarity of each opinion slot: ``-polarity`` before the last ``but``, ``polarity`` after it."""
    last_but = max((i for i, word in enumerate(words) if word == "but"), default=-1)
    return [polarity if i > last_but else -polarity for i, word in enumerate(words) if word in OPINION_SLOTS]


def _articles_fixed(tokens: list[str]) -> list[str]:
    """``a`` -> ``an`` before a vowel sound (``an excellent``), and a capital first letter."""
    for i in range(len(tokens) - 1):
        following = tokens[i + 1].lower()
        if tokens[i] in ("a", "A") and following[0] in "aeiou" and following not in _CONSONANT_SOUNDING:
            tokens[i] += "n"
    tokens[0] = tokens[0][:1].upper() + tokens[0][1:]
    return tokens


def render(
    rng: np.random.Generator, domain: str, words: tuple[str, ...], polarity: int, names: NamePools
) -> Sentence:
    """Fill template ``words`` of ``domain`` with ``names`` and opinion phrases for ``polarity`` (±1)."""
    polarities = iter(slot_polarities(words, polarity))
    tokens: list[str] = []
    tags: list[str] = []
    used: set[str] = set()
    for word in words:
        if word in ENTITY_SLOTS:
            kind = ENTITY_SLOTS[word]
            name = names.entity(rng, kind, domain)
            while name in used:
                name = names.entity(rng, kind, domain)
            used.add(name)
            parts = name.split(" ")
            tokens += parts
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(parts) - 1)
        elif word in OPINION_SLOTS:
            phrase = opinion_phrase(rng, word, next(polarities))
            tokens += phrase
            tags += ["O"] * len(phrase)
        else:
            tokens.append(word)
            tags.append("O")
    tokens = _articles_fixed(tokens)
    sentiment = sentiment_of(tokens)
    if sentiment != ("positive" if polarity > 0 else "negative"):
        raise AssertionError(f"reviews: the rules give {sentiment} for {' '.join(tokens)!r}")
    return Sentence(tuple(tokens), tuple(tags), sentiment)
