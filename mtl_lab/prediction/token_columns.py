"""The output columns of a ``token_classification`` task, one entry per WORD of each row's word list:

- ``<task>``: the list of the words' tags (``list<string>``), each the most probable tag at the word's
  first sub-token (:mod:`~mtl_lab.data.text.words`), by name;
- with ``predict.probabilities=true`` also ``<task>/<tag>`` per tag: the list of the words' softmax
  probabilities of that tag (``list<float>``), aligned with ``<task>``.

A word that has no token (cut by truncation: the row was longer than ``data.max_length`` tokens) is
null in every list, so a row's lists are always as long as its word list.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor

from mtl_lab.data.text.words import NO_TOKEN, WordStarts


def _lists(values: pa.Array, words: WordStarts) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(words.offsets.astype(np.int32)), values)


def word_tag_columns(
    task: str, logits: Tensor, words: WordStarts, tags: list[str], probabilities: bool
) -> dict[str, pa.Array]:
    """``<task>`` (and ``<task>/<tag>`` with ``probabilities``) for a batch's ``logits`` [B, T, C] and
    its rows' ``words`` (B rows); ``tags``: the task's tag names, in index order."""
    if logits.dim() != 3 or logits.shape[0] != len(words):
        raise ValueError(f"task {task!r}: expected logits [{len(words)}, T, C], got {list(logits.shape)}")
    positions = words.positions.astype(np.int64)
    seen = positions != NO_TOKEN
    rows = np.repeat(np.arange(len(words), dtype=np.int64), words.counts)
    probs = torch.softmax(logits.detach().float().cpu(), dim=-1).numpy()
    at_words = probs[rows[seen], positions[seen]]  # [words with a token, C]
    ids = np.zeros(len(positions), dtype=np.int64)
    ids[seen] = at_words.argmax(axis=-1)
    names = pc.take(pa.array(tags, pa.string()), pa.array(ids, mask=~seen))
    columns = {task: _lists(names, words)}
    if probabilities:
        for j, tag in enumerate(tags):
            values = np.zeros(len(positions), dtype=probs.dtype)
            values[seen] = at_words[:, j]
            columns[f"{task}/{tag}"] = _lists(pa.array(values, mask=~seen), words)
    return columns
