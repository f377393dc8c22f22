"""One task's source per training step (``data.mode=sample``, MT-DNN style: Liu et al., ACL 2019).

An epoch takes as many steps as the sources have training batches together. At each step a source i is
drawn with probability

    proportional:  p_i = n_i / sum_j n_j              (n_i: training samples of source i)
    uniform:       p_i = 1 / S
    temperature:   p_i = n_i^(1/T) / sum_j n_j^(1/T)  (T = 1: proportional, T -> inf: uniform)

and the step is that source's next batch (a source that runs out restarts, see
:class:`~mtl_lab.data.source_loaders.SourcePasses`). The draws of an epoch come from a generator seeded
from (``seed``, epoch): every DDP rank draws the same source at every step, a rerun draws the same
sequence, and each epoch draws a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from mtl_lab.batch import Batch
from mtl_lab.data.resumable_loader import StepPosition
from mtl_lab.data.source_loaders import SourcePasses, loader_length
from mtl_lab.errors import ConfigError, unknown_choice

SAMPLINGS = ("proportional", "temperature", "uniform")


def sampling_probabilities(sizes: Sequence[int], sampling: str, temperature: float = 2.0) -> list[float]:
    """The probability of drawing each source, from the sources' training sizes (module docstring)."""
    if sampling not in SAMPLINGS:
        raise unknown_choice("data.sampling", sampling, SAMPLINGS, "sampling")
    if temperature <= 0:
        raise ConfigError(f"data.temperature: must be > 0, got {temperature}")
    n = np.asarray(sizes, dtype=np.float64)
    weights = {"proportional": n, "uniform": np.ones_like(n), "temperature": n ** (1.0 / temperature)}[
        sampling
    ]
    return (weights / weights.sum()).tolist()


def draw_sources(probabilities: Sequence[float], steps: int, seed: int, epoch: int) -> list[int]:
    """The source index of every step of ``epoch``: a function of (seed, epoch) only."""
    rng = np.random.default_rng([seed % 2**64, epoch])
    return rng.choice(len(probabilities), size=steps, p=np.asarray(probabilities)).tolist()


class SampledSources(StepPosition):
    """Training loader of ``data.mode=sample``: one drawn source's batch per step (module docstring).

    ``epoch`` returns the current epoch when an iteration starts (the Trainer's; 0 outside one). Its
    position within an epoch is checkpointed (:class:`~mtl_lab.data.resumable_loader.StepPosition`).
    """

    def __init__(
        self,
        loaders: Mapping[str, Any],
        probabilities: Sequence[float],
        seed: int,
        epoch: Callable[[], int],
    ) -> None:
        self.loaders, self.probabilities = dict(loaders), list(probabilities)
        self.seed, self.epoch = seed, epoch
        self.lengths = {name: loader_length(loader, name) for name, loader in self.loaders.items()}

    def __len__(self) -> int:
        return sum(self.lengths.values())

    def draws(self, epoch: int) -> list[str]:
        """The source of every step of ``epoch``, by name."""
        names = list(self.loaders)
        return [names[i] for i in draw_sources(self.probabilities, len(self), self.seed, epoch)]

    def __iter__(self) -> Iterator[Batch]:
        epoch = self.epoch()
        passes = {
            name: SourcePasses(loader, epoch, stride=len(self) + 1) for name, loader in self.loaders.items()
        }
        yield from self.positioned(epoch, (passes[name].next() for name in self.draws(epoch)))
