"""The training loader of in-memory data: a shuffle that is a function of (seed, epoch), and a position
within the epoch that a checkpoint saves, so a run resumed mid-epoch takes exactly the batches it had not.

:class:`ResumableSampler` is a :class:`~torch.utils.data.DistributedSampler` (one replica outside DDP,
so Lightning never replaces it): epoch ``e`` is ``randperm(n)`` from a generator seeded with
``seed + e``, this rank's share of it under DDP. It draws nothing from the global RNG, so the shuffle
does not depend on what else consumed random numbers.

:class:`ResumableLoader` is a DataLoader with ``state_dict`` / ``load_state_dict``, which Lightning
saves in every checkpoint (``loops.fit_loop.state_dict.combined_loader``) and loads when it restarts
mid-epoch: ``{"epoch": e, "batches": k}``, the batches of epoch ``e`` handed to the training loop so
far. Once loaded, the next iteration of epoch ``e`` starts at batch ``k`` without reading the first
``k`` (the sampler skips their indices). The loader counts batches as it yields them (not as workers
prefetch them), and Lightning does not prefetch sized loaders, so ``k`` is what the loop consumed.

:class:`StepPosition` gives the same ``state_dict`` / ``load_state_dict`` to the training iterables of
``data=per_task``, whose epochs are also a function of the epoch: a loaded position skips the first
``k`` steps of that epoch (their batches are drawn and dropped, keeping every source's passes in step).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, DistributedSampler

from mtl_lab.batch import Batch


class ResumableSampler(DistributedSampler):
    """Indices of epoch ``epoch`` (set by Lightning through ``set_epoch``), the first ``skip`` left out
    once (see the module docstring)."""

    def __init__(self, dataset: Any, seed: int, num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.skip = 0
        super().set_epoch(epoch)

    def resume(self, epoch: int, samples: int) -> None:
        """The next iteration is epoch ``epoch`` without its first ``samples`` indices (of this rank)."""
        super().set_epoch(epoch)
        self.skip = samples

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        skip, self.skip = self.skip, 0
        return iter(indices[skip:])


class ResumableLoader(DataLoader[Batch]):
    """A DataLoader over a :class:`ResumableSampler` whose position is checkpointed (module docstring)."""

    sampler: ResumableSampler
    batches = 0

    def __iter__(self) -> Iterator[Batch]:  # type: ignore[override]
        self.batches = self.sampler.skip // self.batch_size  # type: ignore[operator]
        for batch in super().__iter__():
            self.batches += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.sampler.epoch, "batches": self.batches}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.sampler.resume(state["epoch"], state["batches"] * self.batch_size)  # type: ignore[operator]


def training_loader(
    dataset: Any,
    batch_size: int,
    seed: int,
    num_replicas: int = 1,
    rank: int = 0,
    sampler: ResumableSampler | None = None,
    **kwargs: Any,
) -> ResumableLoader:
    """A :class:`ResumableLoader` over ``dataset`` in the order of ``sampler`` (default: a
    :class:`ResumableSampler` of ``seed``, this rank's share; ``kwargs``: other DataLoader arguments) whose
    worker seeds come from its own generator, so creating its iterators draws nothing from the global RNG."""
    if sampler is None:
        sampler = ResumableSampler(dataset, seed=seed, num_replicas=num_replicas, rank=rank)
    generator = torch.Generator().manual_seed(seed)
    return ResumableLoader(dataset, batch_size=batch_size, sampler=sampler, generator=generator, **kwargs)


class StepPosition:
    """Checkpointed position of a training iterable whose epochs are a function of the epoch number:
    its ``__iter__`` yields ``self.positioned(epoch, steps)`` (see the module docstring)."""

    _position: tuple[int, int] = (0, 0)
    _resume_at: tuple[int, int] | None = None

    def state_dict(self) -> dict[str, int]:
        epoch, batches = self._position
        return {"epoch": epoch, "batches": batches}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._resume_at = (state["epoch"], state["batches"])

    def positioned(self, epoch: int, steps: Iterable[Batch]) -> Iterator[Batch]:
        """``steps`` of ``epoch`` after a loaded position's (once), counted as they are yielded."""
        resume, self._resume_at = self._resume_at, None
        skip = resume[1] if resume is not None and resume[0] == epoch else 0
        self._position = (epoch, skip)
        for index, batch in enumerate(steps):
            if index >= skip:
                self._position = (epoch, index + 1)
                yield batch
