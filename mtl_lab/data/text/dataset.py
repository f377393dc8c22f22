"""One tokenized split in memory and the dataset that serves it as padded batches.

:class:`TextSplit` holds the unpadded token ids of every row (flat, with row offsets), the targets and
masks of the sentence tasks ([n]), per token task a flat tag id per token (-1 = unlabelled) and, for
rows of word lists, where each word begins (:class:`~mtl_lab.data.text.words.WordStarts`; batches do not
use it: ``mtl-predict`` reads a token task's prediction there).
:class:`TextDataset` serves whole batches (``__getitems__``): rows are right-padded to the longest row
OF THE BATCH (never to a global length) with the tokenizer's pad id; ``attention_mask`` is 1 on real
tokens; a token task's target is Long[B, T] (0 where unlabelled) with its mask bool[B, T] True exactly
at the labelled first sub-tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from mtl_lab.batch import Batch
from mtl_lab.data.datamodule import labelled_samples
from mtl_lab.data.text.tags import UNLABELLED, labelled_rows
from mtl_lab.data.text.words import WordStarts


@dataclass
class TextSplit:
    """One split (see the module docstring)."""

    ids: np.ndarray  # int32 [tokens]
    offsets: np.ndarray  # int64 [n + 1]
    targets: dict[str, Tensor] = field(default_factory=dict)  # sentence tasks, [n]
    masks: dict[str, Tensor] = field(default_factory=dict)  # sentence tasks, bool [n]
    token_tags: dict[str, np.ndarray] = field(default_factory=dict)  # token tasks, int32 [tokens]
    words: WordStarts | None = None  # rows of word lists: each word's first sub-token

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def labelled_count(self, task: str) -> int:
        """Rows labelled for ``task`` (a token task: rows with at least one labelled token)."""
        if task in self.token_tags:
            return int(labelled_rows(self.token_tags[task], self.offsets).sum())
        return labelled_samples(self.masks[task], len(self))


class TextDataset(Dataset[Batch]):
    """Whole padded batches of a :class:`TextSplit` (see the module docstring)."""

    def __init__(self, split: TextSplit, pad_id: int) -> None:
        self.split, self.pad_id = split, pad_id

    def __len__(self) -> int:
        return len(self.split)

    @property
    def lengths(self) -> np.ndarray:
        """Tokens of every row (what bucketing sorts by)."""
        return self.split.lengths

    def __getitem__(self, index: int) -> Batch:
        return self.__getitems__([index])

    def __getitems__(self, indices: list[int]) -> Batch:
        split = self.split
        rows = np.asarray(indices, dtype=np.int64)
        starts, lengths = split.offsets[rows], split.lengths[rows]
        width = max(1, int(lengths.max(initial=0)))
        columns = np.arange(width, dtype=np.int64)
        real = columns[None, :] < lengths[:, None]
        positions = np.where(real, starts[:, None] + columns[None, :], 0)
        inputs = {
            "input_ids": _gather(split.ids, positions, real, self.pad_id),
            "attention_mask": torch.from_numpy(real.astype(np.int64)),
        }
        index = torch.from_numpy(rows)
        targets = {task: target[index] for task, target in split.targets.items()}
        masks = {task: mask[index] for task, mask in split.masks.items()}
        for task, tags in split.token_tags.items():
            tag = _gather(tags, positions, real, UNLABELLED)
            labelled = tag != UNLABELLED
            targets[task], masks[task] = torch.where(labelled, tag, 0), labelled
        return Batch(inputs=inputs, targets=targets, masks=masks)


def _gather(flat: np.ndarray, positions: np.ndarray, real: np.ndarray, fill: int) -> Tensor:
    """Long[B, T]: ``flat[positions]`` where ``real``, ``fill`` elsewhere."""
    values = flat[positions] if flat.size else np.zeros(positions.shape, dtype=flat.dtype)
    return torch.from_numpy(np.where(real, values, fill).astype(np.int64))
