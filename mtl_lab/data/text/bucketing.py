"""Length bucketing of the text training loader (``data.bucketing=true``): batches of rows of similar
length, so little of a dynamically padded batch is padding, in a shuffled order.

Epoch ``e`` (this rank's share under DDP) starts from the shuffle of
:class:`~mtl_lab.data.resumable_loader.ResumableSampler` (a function of ``seed + e``); it is cut into
pools of ``POOL_BATCHES`` batches, each pool sorted by row length (stable) and cut into batches, and the
full batches are shuffled by a generator seeded with ``seed + e``; the one batch that can be short (the
last pool's last) stays last. The order is a function of (seed, epoch) only, and every batch before the
last is full, so a resumed epoch that skips ``k * batch_size`` indices skips exactly its first ``k``
batches: the loader is a :class:`~mtl_lab.data.resumable_loader.ResumableLoader`, checkpointed likewise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from mtl_lab.data.resumable_loader import ResumableSampler

#: Batches per sorted pool: larger pools pad less, smaller ones keep more of the shuffle.
POOL_BATCHES = 50


def bucket_order(
    indices: list[int], lengths: np.ndarray, batch_size: int, seed: int, pool_batches: int = POOL_BATCHES
) -> list[int]:
    """``indices`` rearranged into length buckets (see the module docstring)."""
    pool = batch_size * pool_batches
    batches: list[list[int]] = []
    for start in range(0, len(indices), pool):
        chunk = np.asarray(indices[start : start + pool], dtype=np.int64)
        ordered = chunk[np.argsort(lengths[chunk], kind="stable")].tolist()
        batches += [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    last = [batches.pop()] if batches and len(batches[-1]) < batch_size else []
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [i for b in [*(batches[j] for j in order), *last] for i in b]


class BucketSampler(ResumableSampler):
    """A :class:`ResumableSampler` whose epoch order is bucketed by ``lengths`` (module docstring)."""

    def __init__(
        self,
        dataset: Any,
        lengths: np.ndarray,
        batch_size: int,
        seed: int,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        super().__init__(dataset, seed=seed, num_replicas=num_replicas, rank=rank)
        self.lengths, self.batch_size = lengths, batch_size

    def __iter__(self) -> Iterator[int]:
        shuffled = list(DistributedSampler.__iter__(self))
        indices = bucket_order(shuffled, self.lengths, self.batch_size, self.seed + self.epoch)
        skip, self.skip = self.skip, 0
        return iter(indices[skip:])
