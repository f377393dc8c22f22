"""The reviews data set: rows of review sentences per split and shape, deterministic from a seed.

Row ``i`` of a split is the ``i``-th sentence drawn from the split's own NumPy PCG64 stream, seeded with
``(seed, shape, split)``: a template made of the split's clauses (:mod:`.templates`), a polarity
(positive or negative, equally often) and names of the split (:mod:`.sentences`). So a larger size
only appends rows, and the shapes draw different sentences: ``joint`` rows carry both labels
(``sentiment`` and ``tags``); the per-task shapes ``sentiment`` and ``ner`` are drawn separately and carry
only their own label. In the training split of a shape with sentiment, exactly ``round(noise * size)``
labels, drawn from a stream of its own, are flipped; validation and test labels are the rules'.

:func:`vocabulary_texts` are training sentences of a fixed stream, the same whatever the seed, shape or
sizes: the corpus of the tiny BERT's vocabulary.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mtl_lab.data.reviews.pools import SPLITS
from mtl_lab.data.reviews.sentences import NamePools, Sentence, render
from mtl_lab.data.reviews.templates import ClausePools, draw_template
from mtl_lab.errors import ConfigError, unknown_choice

GENERATOR = "reviews"
VERSION = 1
SHAPES = ("joint", "sentiment", "ner")
#: The label fields each shape writes.
SHAPE_FIELDS = {"joint": ("sentiment", "tags"), "sentiment": ("sentiment",), "ner": ("tags",)}
_STREAM = {"joint": 1, "sentiment": 2, "ner": 3, "noise": 4, "vocabulary": 5}
_FLIPPED = {"positive": "negative", "negative": "positive"}
VOCABULARY_SENTENCES = 4000


def draw_sentences(split: str, size: int, stream: tuple[int, ...]) -> list[Sentence]:
    """``size`` sentences of ``split`` from a PCG64 generator seeded with ``stream``."""
    rng = np.random.default_rng(list(stream))
    names, clauses = NamePools.of(split), ClausePools.of(split)
    sentences = []
    for _ in range(size):
        domain, words = draw_template(rng, clauses)
        polarity = 1 if rng.random() < 0.5 else -1
        sentences.append(render(rng, domain, words, polarity, names))
    return sentences


def detokenize(tokens: tuple[str, ...] | list[str]) -> str:
    """The sentence as text: words joined by spaces, none before punctuation."""
    return " ".join(tokens).replace(" .", ".").replace(" ,", ",").replace(" ;", ";")


def check_parameters(shape: str, sizes: dict[str, int], noise: float) -> None:
    """One-line errors for an unknown shape, a split size below 1 or a noise outside [0, 0.5)."""
    if shape not in SHAPES:
        raise unknown_choice("data.shape", shape, SHAPES, "shape")
    for split in SPLITS:
        if not isinstance(sizes.get(split), int) or sizes[split] < 1:
            raise ConfigError(f"data.{split}_size: must be an integer >= 1, got {sizes.get(split)!r}")
    if not 0 <= noise < 0.5:
        raise ConfigError(f"data.noise: must be in [0, 0.5), got {noise!r}")


def review_rows(shape: str, split: str, size: int, seed: int, noise: float = 0.0) -> list[dict[str, Any]]:
    """The rows of ``split``: ``text``, ``tokens`` and the label fields of ``shape`` (module docstring)."""
    sentences = draw_sentences(split, size, (seed, _STREAM[shape], SPLITS.index(split)))
    fields = SHAPE_FIELDS[shape]
    rows: list[dict[str, Any]] = []
    for sentence in sentences:
        row: dict[str, Any] = {"text": detokenize(sentence.tokens), "tokens": list(sentence.tokens)}
        if "sentiment" in fields:
            row["sentiment"] = sentence.sentiment
        if "tags" in fields:
            row["tags"] = list(sentence.tags)
        rows.append(row)
    if split == "train" and "sentiment" in fields:
        flips = round(noise * size)
        rng = np.random.default_rng([seed, _STREAM["noise"], _STREAM[shape]])
        for index in rng.choice(size, size=flips, replace=False):
            rows[int(index)]["sentiment"] = _FLIPPED[rows[int(index)]["sentiment"]]
    return rows


@functools.cache
def vocabulary_texts(size: int = VOCABULARY_SENTENCES) -> tuple[str, ...]:
    """Training sentences (texts) of a fixed stream: the tiny BERT vocabulary's corpus."""
    return tuple(detokenize(s.tokens) for s in draw_sentences("train", size, (0, _STREAM["vocabulary"])))
