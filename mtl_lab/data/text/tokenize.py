"""Tokenization of one split, once, with a fast tokenizer: the rows' token ids kept unpadded (one flat
array and row offsets), each token's word index (for aligning word labels), and which rows were cut.

Rows are tokenized in batched calls (``CHUNK`` rows each) with the tokenizer's special tokens, truncated
to ``max_length`` tokens (special tokens included); a row is *truncated* when the tokenizer reports
overflowing tokens. With ``split_words`` each row is a list of words (``is_split_into_words=True``) and
``word_ids`` holds each token's word (-1: a special token); without, the words are the tokenizer's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

#: Rows per tokenizer call.
CHUNK = 2048


@dataclass
class Tokenized:
    """Token ids of ``n`` rows: row ``i`` is ``ids[offsets[i]:offsets[i + 1]]`` (see module docstring)."""

    ids: np.ndarray  # int32 [tokens]
    offsets: np.ndarray  # int64 [n + 1]
    word_ids: np.ndarray  # int32 [tokens], -1 for special tokens
    truncated: np.ndarray  # bool [n]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1


def tokenize(
    tokenizer: PreTrainedTokenizerFast,
    rows: Sequence[str] | Sequence[Sequence[str]],
    split_words: bool,
    max_length: int,
) -> Tokenized:
    """Tokenize ``rows`` (texts, or word lists with ``split_words``) to at most ``max_length`` tokens."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        batch = [list(r) for r in chunk] if split_words else list(chunk)
        encoded = tokenizer(
            batch, is_split_into_words=split_words, truncation=True, max_length=max_length, verbose=False
        )
        parts.append(_arrays(encoded.encodings or []))
    if not parts:
        parts.append(_arrays([]))
    ids, lengths, word_ids, truncated = (np.concatenate(p) for p in zip(*parts, strict=True))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Tokenized(ids=ids, offsets=offsets, word_ids=word_ids, truncated=truncated)


def _arrays(encodings: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ids, lengths, word ids, truncated) of one chunk's ``tokenizers.Encoding`` objects."""
    lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    total = int(lengths.sum())
    ids = np.fromiter((i for e in encodings for i in e.ids), dtype=np.int32, count=total)
    words = (-1 if w is None else w for e in encodings for w in e.word_ids)
    word_ids = np.fromiter(words, dtype=np.int32, count=total)
    truncated = np.fromiter((bool(e.overflowing) for e in encodings), dtype=bool, count=len(encodings))
    return ids, lengths, word_ids, truncated


def first_subtokens(tokens: Tokenized) -> np.ndarray:
    """Bool [tokens]: the first token of each word (False for special tokens and later sub-tokens)."""
    word = tokens.word_ids
    previous = np.full_like(word, -1)
    previous[1:] = word[:-1]
    previous[tokens.offsets[:-1][tokens.lengths > 0]] = -1  # a row's first token starts a word
    return (word >= 0) & (word != previous)


def token_rows(tokens: Tokenized) -> np.ndarray:
    """Int64 [tokens]: the row of every token."""
    return np.repeat(np.arange(len(tokens), dtype=np.int64), tokens.lengths)
