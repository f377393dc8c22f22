"""Random Loss Weighting: Lin, Ye, Zhang & Tsang, "Reasonable Effectiveness of Random Weighting: A
Litmus Test for Multi-Task Learning", TMLR 2022.

Every training step draws fresh weights

    z ~ N(0, I_K),    c = softmax(z),    total = sum_k c_k L_k

(the paper's default distribution; the coefficients sum to 1). Before the first step
:meth:`current_coefficients` reports the mean weight 1/K.

The draws come from a dedicated CPU ``torch.Generator`` seeded, at step n, with SplitMix64 of
(``seed``, n), never from the global RNG: every DDP rank draws the same weights, any device gives the
same numbers, and the step counter n is a buffer, so a run restored from a checkpoint continues the
same sequence. ``seed`` defaults to the run's seed (``seed: ${seed}`` in the YAML).

Missing labels: z is drawn for all K tasks as usual (the step still advances, so the sequence does not
depend on which labels are missing) and the present tasks P get softmax(z_P), as if the others did not
exist; a missing task keeps its previous coefficient. A step without any labelled task draws nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput

_MASK64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def step_seed(seed: int, step: int) -> int:
    """The generator seed of step ``step`` of the stream ``seed``: a 64-bit hash of the pair."""
    return _splitmix64(_splitmix64(seed & _MASK64) ^ (step & _MASK64))


def random_weights(seed: int, step: int, num_tasks: int, present: Tensor | None = None) -> Tensor:
    """softmax(z), z ~ N(0, I) drawn from a generator seeded with :func:`step_seed`; float32 on the CPU.
    With ``present`` (bool [K]): the softmax over the present entries of z (0 elsewhere)."""
    generator = torch.Generator().manual_seed(step_seed(seed, step))
    z = torch.randn(num_tasks, generator=generator)
    if present is not None:
        z = torch.where(present.cpu(), z, float("-inf"))
    return torch.softmax(z, dim=0)


@WEIGHTINGS.register("rlw")
class RandomLossWeighting(Weighting):
    normalization = "sum_to_one"
    permutation_invariant = False

    def __init__(self, tasks: Mapping[str, TaskSpec], seed: int = 0) -> None:
        super().__init__(tasks)
        self.seed = int(seed)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("weights", torch.full((self.num_tasks,), 1.0 / self.num_tasks))

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        present = stats.present(self.num_tasks).cpu()
        if bool(present.any()):
            drawn = random_weights(self.seed, int(self.steps), self.num_tasks, present)
            self.weights.copy_(self.keep_missing(drawn.to(self.weights), self.weights, present))
            self.steps += 1
        return WeightingOutput(coefficients=self.weights.clone(), extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.weights
