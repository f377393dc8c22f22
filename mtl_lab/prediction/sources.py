"""What mtl-predict predicts: a source of consecutive batches in input order, and its DDP sharding.

A :class:`PredictionSource` yields :class:`SourceBatch`es numbered 0, 1, 2, ... in input order; it is
asked only for the batches a rank keeps, so a rank encodes no other rank's rows. :class:`ShardedBatches`
gives rank r of W the batches r, r + W, r + 2W, ... (every batch exactly once, no padding: a
``DistributedSampler`` would repeat samples), so the ranks' outputs interleave back into input order one
batch at a time (:func:`mtl_lab.prediction.output.merge_shards`).

:class:`SplitSource` is one split of an in-memory datamodule (every batch labelled);
:class:`~mtl_lab.prediction.table_stream.TableStream` streams a table file;
:class:`~mtl_lab.prediction.text_source.TextSource` serves the rows of a text file, tokenized.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import torch.distributed as dist
from torch.utils.data import DataLoader, IterableDataset

from mtl_lab.batch import Batch
from mtl_lab.data.datamodule import TensorSplit
from mtl_lab.data.text.words import WordStarts


@dataclass
class SourceBatch:
    """One batch to predict: the model's ``batch`` (targets of the labelled tasks only), the rows'
    carried columns (None: nothing is carried) and, for text rows of word lists, where each word begins
    among the batch's tokens (where a token task's tag is read; None: no word lists)."""

    batch: Batch
    carry: pa.Table | None = None
    words: WordStarts | None = None


class PredictionSource(ABC):
    """Batches of the rows to predict, in input order (see the module docstring)."""

    #: What is predicted, e.g. ``the test split of multi_digits``; for messages and the metrics file.
    description: str
    #: The tasks whose labels the rows have: their metrics are computed.
    labelled_tasks: tuple[str, ...]
    #: The file the rows are read from (None: in-memory data); the output may not replace it.
    path: Path | None = None

    @abstractmethod
    def batches(self, keep: Callable[[int], bool]) -> Iterator[SourceBatch]:
        """The batches whose number ``keep`` accepts, in order."""


class SplitSource(PredictionSource):
    """One split of an in-memory datamodule, in ``batch_size`` slices."""

    def __init__(self, split: TensorSplit, batch_size: int, description: str) -> None:
        self.split = split
        self.batch_size = batch_size
        self.description = description
        self.labelled_tasks = tuple(split.targets)

    def batches(self, keep: Callable[[int], bool]) -> Iterator[SourceBatch]:
        split, size = self.split, self.batch_size
        for number, start in enumerate(range(0, len(split), size)):
            if keep(number):
                part = slice(start, start + size)
                yield SourceBatch(
                    Batch(
                        inputs={n: x[part] for n, x in split.inputs.items()},
                        targets={t: y[part] for t, y in split.targets.items()},
                        masks={t: m[part] for t, m in split.masks.items()},
                    )
                )


def rank_and_world_size() -> tuple[int, int]:
    """This process's rank and the number of processes (0 and 1 outside a process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class ShardedBatches(IterableDataset[SourceBatch]):
    """This rank's batches of ``source``: those whose number modulo the world size is its rank."""

    def __init__(self, source: PredictionSource) -> None:
        self.source = source

    def __iter__(self) -> Iterator[SourceBatch]:
        rank, world_size = rank_and_world_size()
        return self.source.batches(lambda number: number % world_size == rank)


def _as_is(item: SourceBatch) -> SourceBatch:
    return item


def prediction_loader(source: PredictionSource) -> DataLoader[SourceBatch]:
    """A loader of this rank's batches (already whole batches: no collation, no worker processes)."""
    return DataLoader(ShardedBatches(source), batch_size=None, collate_fn=_as_is)
