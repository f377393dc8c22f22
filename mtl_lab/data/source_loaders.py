"""Loaders over several sources (one dataset per task, ``data=per_task``), each yielding one Batch per step.

- :class:`CombinedSources` (training, ``cycle`` / ``min_size``): every step takes the next batch of every
  source and concatenates them (:func:`~mtl_lab.batch.concat_batches`: each task labelled on its own
  source's rows). An epoch lasts as long as the longest source (``cycle``: shorter sources restart) or
  the shortest (``min_size``) — the semantics of Lightning's ``CombinedLoader`` modes.
- :class:`SourcesInTurn` (validation / test): every batch of every source once, source after source, each
  a Batch carrying only that source's tasks.
- :func:`shard_loader`: a source's loader rebuilt with a ``DistributedSampler`` (DDP). These loaders are
  plain iterables that yield Batches (so a loader iterated by hand yields what the module receives), and
  Lightning injects samplers into DataLoaders only, so the datamodule shards every source itself. The
  sampler pads a source to a multiple of the world size (as Lightning's own does), so every rank takes the
  same number of batches of every source in the same order; under DDP up to ``world_size - 1`` samples of a
  source are evaluated twice.

A source that runs out restarts (:class:`SourcePasses`): pass ``p`` of epoch ``e`` sets its sampler's
epoch to ``e * stride + p`` (``stride`` exceeds the passes an epoch can take), so each pass is a fresh
shuffle, the same on every rank, and a rerun of the epoch repeats it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from torch.utils.data import DataLoader, DistributedSampler, IterableDataset

from mtl_lab.batch import Batch, concat_batches
from mtl_lab.data.resumable_loader import StepPosition
from mtl_lab.errors import ConfigError, DataError

COMBINED_MODES = ("cycle", "min_size")


def set_sampler_epoch(loader: Any, epoch: int) -> None:
    """Call ``set_epoch`` on the loader's sampler and batch sampler where they have one."""
    for sampler in (getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)):
        set_epoch = getattr(sampler, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)


def shard_loader(
    loader: DataLoader[Any], source: str, world_size: int, rank: int, shuffle: bool, seed: int
) -> DataLoader[Any]:
    """``loader`` rebuilt to read this rank's share of its dataset through a ``DistributedSampler``."""
    if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
        raise DataError(
            f"data.sources.{source}: its loader cannot be split across DDP ranks (not a map-style DataLoader)"
        )
    if loader.batch_size is None:
        raise DataError(
            f"data.sources.{source}: its loader uses its own batch sampler, which cannot be split across "
            "DDP ranks"
        )
    sampler = DistributedSampler(
        loader.dataset, num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
    )
    return DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        prefetch_factor=loader.prefetch_factor,
        persistent_workers=loader.persistent_workers,
        multiprocessing_context=loader.multiprocessing_context,
    )


def loader_length(loader: Any, source: str) -> int:
    """Batches per pass of a source's loader; a loader without batches is a DataError."""
    try:
        length = len(loader)
    except TypeError:
        raise DataError(
            f"data.sources.{source}: its loader has no length (per_task needs sized loaders)"
        ) from None
    if length == 0:
        raise DataError(f"data.sources.{source}: its loader yields no batch")
    return length


class SourcePasses:
    """Endless batches of one source: a new pass starts when one ends (see the module docstring)."""

    def __init__(self, loader: Any, epoch: int, stride: int) -> None:
        self.loader, self.epoch, self.stride = loader, epoch, stride
        self.passes = 0
        self._iterator: Iterator[Batch] | None = None

    def _start(self) -> Iterator[Batch]:
        set_sampler_epoch(self.loader, self.epoch * self.stride + self.passes)
        self.passes += 1
        self._iterator = iter(self.loader)
        return self._iterator

    def next(self) -> Batch:
        iterator = self._iterator or self._start()
        try:
            return next(iterator)
        except StopIteration:
            return next(self._start())


class CombinedSources(StepPosition):
    """One concatenated batch of every source per step (``cycle`` or ``min_size``, module docstring).

    ``epoch`` returns the current epoch when an iteration starts (the Trainer's; 0 outside one). Its
    position within an epoch is checkpointed (:class:`~mtl_lab.data.resumable_loader.StepPosition`).
    """

    def __init__(self, loaders: Mapping[str, Any], mode: str, epoch: Callable[[], int]) -> None:
        if mode not in COMBINED_MODES:
            raise ConfigError(
                f"data.mode: combined loading takes {' or '.join(COMBINED_MODES)}, got {mode!r}"
            )
        self.loaders, self.mode, self.epoch = dict(loaders), mode, epoch
        self.lengths = {name: loader_length(loader, name) for name, loader in self.loaders.items()}

    def __len__(self) -> int:
        return max(self.lengths.values()) if self.mode == "cycle" else min(self.lengths.values())

    def __iter__(self) -> Iterator[Batch]:
        epoch, steps = self.epoch(), len(self)
        passes = [SourcePasses(loader, epoch, stride=steps + 1) for loader in self.loaders.values()]
        batches = (concat_batches([source.next() for source in passes]) for _ in range(steps))
        yield from self.positioned(epoch, batches)


class SourcesInTurn:
    """Every batch of every source exactly once, source after source (evaluation)."""

    def __init__(self, loaders: Mapping[str, Any]) -> None:
        self.loaders = dict(loaders)
        self.lengths = {name: loader_length(loader, name) for name, loader in self.loaders.items()}

    def __len__(self) -> int:
        return sum(self.lengths.values())

    def __iter__(self) -> Iterator[Batch]:
        for loader in self.loaders.values():
            yield from loader
