"""Where each word of a row begins among the row's tokens, from the tokenization alone (labels or not):
the position of the word's FIRST sub-token, where a token task's tag sits (:mod:`~mtl_lab.data.text.tags`)
and where its prediction is read (``mtl-predict``).

Rows of word lists only (``data.tokens_column``): every word of a row's list has an entry, in order. A
word without a token (cut by truncation, or one the tokenizer drops, such as an empty string) has
position :data:`NO_TOKEN`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mtl_lab.data.text.tokenize import Tokenized, first_subtokens, token_rows

#: The position of a word that has no token.
NO_TOKEN = -1


@dataclass
class WordStarts:
    """Row ``i``'s words are ``positions[offsets[i]:offsets[i + 1]]``: each word's first sub-token's
    position within the row (0 = the row's first token), or :data:`NO_TOKEN`."""

    positions: np.ndarray  # int32 [words]
    offsets: np.ndarray  # int64 [n + 1]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> np.ndarray:
        """Words per row."""
        return np.diff(self.offsets)

    def rows(self, start: int, stop: int) -> WordStarts:
        """Rows ``start:stop``, their offsets starting from 0."""
        low, high = int(self.offsets[start]), int(self.offsets[stop])
        return WordStarts(self.positions[low:high], self.offsets[start : stop + 1] - low)


def word_starts(tokens: Tokenized, word_counts: Sequence[int]) -> WordStarts:
    """Each word's first sub-token in ``tokens`` (tokenized word lists of ``word_counts`` words)."""
    offsets = np.concatenate([[0], np.cumsum(np.asarray(word_counts, dtype=np.int64))]).astype(np.int64)
    positions = np.full(int(offsets[-1]), NO_TOKEN, dtype=np.int32)
    first = np.flatnonzero(first_subtokens(tokens))
    rows = token_rows(tokens)[first]
    positions[offsets[rows] + tokens.word_ids[first]] = first - tokens.offsets[rows]
    return WordStarts(positions, offsets)
