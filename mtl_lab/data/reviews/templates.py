"""Sentence templates: a pattern joining clauses of one domain (:mod:`.clauses`) of one split.

A template is drawn as: a domain (uniformly), a pattern (uniformly from :data:`PATTERNS`), then for each
``{E}`` an entity clause and for each ``{O}`` a different opinion clause (of the domain or generic), all
from the split's pools. So validation and test templates are made of clauses that training never sees;
the patterns (``{E} and {O} .``, ``{O} but {O} .``, ...) are shared glue. Opinion slots after the last
``but`` carry the sentence's polarity, those before it the opposite one (:mod:`.sentences`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtl_lab.data.reviews.clauses import ENTITY_CLAUSES, GENERIC_OPINIONS, OPINION_CLAUSES
from mtl_lab.data.reviews.pools import pool

PATTERNS = (
    *("{E} and {O} .", "{E} ; {O} .", "{E} , but {O} .", "{E} and {O} , but {O} ."),
    *("When {E} , {O} .", "{O} when {E} .", "{O} but {O} .", "{O} and {E} ."),
    *("{O} .", "{E} , and {O} and {O} ."),
)
ENTITY_SLOTS = {"{PER}": "PER", "{ORG}": "ORG", "{LOC}": "LOC"}
OPINION_SLOTS = ("{ADJ}", "{ATTR}", "{FEEL}", "{REC}")
DOMAINS = tuple(ENTITY_CLAUSES)


@dataclass(frozen=True)
class ClausePools:
    """The clauses of one split, by domain: entity clauses and opinion clauses (domain + generic)."""

    entity: dict[str, tuple[tuple[str, ...], ...]]
    opinion: dict[str, tuple[tuple[str, ...], ...]]

    @classmethod
    def of(cls, split: str) -> ClausePools:
        def words(clauses: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
            return tuple(tuple(clause.split(" ")) for clause in pool(clauses, split))

        generic = words(GENERIC_OPINIONS)
        return cls(
            {domain: words(clauses) for domain, clauses in ENTITY_CLAUSES.items()},
            {domain: words(clauses) + generic for domain, clauses in OPINION_CLAUSES.items()},
        )


def draw_template(rng: np.random.Generator, clauses: ClausePools) -> tuple[str, tuple[str, ...]]:
    """A (domain, words) template: a pattern filled with clauses of ``clauses`` (module docstring)."""
    domain = DOMAINS[int(rng.integers(len(DOMAINS)))]
    pattern = PATTERNS[int(rng.integers(len(PATTERNS)))].split(" ")
    opinions = clauses.opinion[domain]
    order = rng.permutation(len(opinions))  # distinct opinion clauses, in this order
    entities = clauses.entity[domain]
    words: list[str] = []
    used = 0
    for word in pattern:
        if word == "{E}":
            words += entities[int(rng.integers(len(entities)))]
        elif word == "{O}":
            words += opinions[int(order[used])]
            used += 1
        else:
            words.append(word)
    return domain, tuple(words)
