"""The synthetic two-task regression of MMoE (Ma et al., KDD 2018, section 3.2), task correlation set by p.

Two orthogonal unit vectors u1, u2 in R^d (Gaussian draws, Gram-Schmidt orthonormalised) give the task
weights ``w1 = c u1`` and ``w2 = c (p u1 + sqrt(1 - p^2) u2)``, so ``cos(w1, w2) = p`` (``correlation``).
For x ~ N(0, I_d) the labels are

    y_i = w_i^T x + sum_{j=1..m} sin(alpha_j w_i^T x + beta_j) + eps_i,   i = 1, 2,

with alpha, beta shared by both tasks. p is the cosine of the task weights, not the labels' correlation:
w1^T x and w2^T x are a Gaussian pair with correlation p, so the labels' Pearson correlation is at most
|p| (Gebelein's maximal correlation), equal only for a linear label function; the sines bring it lower,
often far lower, unless p is about 1 (p = 0.5, d = 100, seeds 0-39: median 0.36, range 0.07-0.50; the
seed sets alpha and beta). p = 1 gives the same label function twice, only the noise differs.

The paper gives d = 100 and eps_i ~ N(0, 0.01), read here as a variance in the usual N(mean, variance)
notation: ``noise_std = 0.1``. It leaves c, m, alpha and beta open; the defaults follow PLE (Tang et al.,
RecSys 2020): c = 1, m = 10, alpha_j, beta_j ~ N(0, 1) (``sine_params: normal``). Dataset sizes are
chosen here (8,000 / 1,000 / 2,000).

Determinism: ``SeedSequence(seed)`` spawns one generator for the task parameters (u1, u2, alpha, beta)
and one per split (x, then eps), so the tasks and every split are fixed by the seed alone and changing one
split's size changes no other split and not the tasks. Tasks ``task1``, ``task2`` (regression, one output,
mse); input ``features`` of shape (d,).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import DATAMODULES, SPLITS, MultiTaskDataModule, TensorSplit
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.tasks import TaskSpec

SINE_PARAMS = ("normal",)
TASKS = ("task1", "task2")


@dataclass(frozen=True)
class MMoETasks:
    """The two label functions: task weights ``weights`` [2, d] and the shared sine parameters [m]."""

    weights: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray

    def labels(self, x: np.ndarray) -> np.ndarray:
        """Noise-free labels [n, 2] of inputs ``x`` [n, d]: w_i^T x + sum_j sin(alpha_j w_i^T x + beta_j)."""
        s = x @ self.weights.T
        return s + np.sin(s[:, :, None] * self.alpha + self.beta).sum(axis=-1)


def mmoe_tasks(
    rng: np.random.Generator, dim: int, correlation: float, scale: float, num_sines: int
) -> MMoETasks:
    """Draw u1, u2 (orthonormalised), then alpha, beta ~ N(0, 1), and build w1, w2 (module docstring)."""
    a, b = rng.standard_normal((2, dim))
    u1 = a / np.linalg.norm(a)
    b = b - (b @ u1) * u1
    u2 = b / np.linalg.norm(b)
    w2 = correlation * u1 + math.sqrt(1.0 - correlation**2) * u2
    alpha, beta = rng.standard_normal((2, num_sines))
    return MMoETasks(weights=scale * np.stack([u1, w2]), alpha=alpha, beta=beta)


@DATAMODULES.register("mmoe_synthetic")
class MMoESyntheticDataModule(MultiTaskDataModule):
    """MMoE's synthetic regression with task correlation ``correlation`` (see the module docstring)."""

    name = "mmoe_synthetic"

    def __init__(
        self,
        correlation: float = 0.5,
        dim: int = 100,
        scale: float = 1.0,
        num_sines: int = 10,
        sine_params: str = "normal",
        noise_std: float = 0.1,
        train_size: int = 8000,
        val_size: int = 1000,
        test_size: int = 2000,
        **kwargs: Any,
    ) -> None:
        if not -1.0 <= correlation <= 1.0:
            raise ConfigError(
                f"data.correlation: the task correlation p must be in [-1, 1], got {correlation}"
            )
        if dim < 2:
            raise ConfigError(f"data.dim: needs two orthogonal directions (>= 2), got {dim}")
        if num_sines < 0:
            raise ConfigError(f"data.num_sines: must be >= 0, got {num_sines}")
        if noise_std < 0:
            raise ConfigError(f"data.noise_std: must be >= 0, got {noise_std}")
        if sine_params not in SINE_PARAMS:
            raise unknown_choice("data.sine_params", sine_params, SINE_PARAMS, "sine parameter distribution")
        self.correlation, self.dim, self.scale = float(correlation), dim, float(scale)
        self.num_sines, self.noise_std = num_sines, float(noise_std)
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        super().__init__(**kwargs)
        seeds = np.random.SeedSequence(self.seed).spawn(1 + len(SPLITS))
        self._split_seeds = dict(zip(SPLITS, seeds[1:], strict=True))
        self.label_functions = mmoe_tasks(
            np.random.default_rng(seeds[0]), dim, self.correlation, self.scale, num_sines
        )

    def declare_tasks(self) -> dict[str, TaskSpec]:
        return {t: TaskSpec(t, "regression", 1) for t in TASKS}

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        return {"features": InputSpec((self.dim,))}

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        return {"dim": 8, "train_size": 64, "val_size": 32, "test_size": 32, "batch_size": 16}

    def make_splits(self) -> dict[str, TensorSplit]:
        splits = {}
        for split, n in self.sizes.items():
            rng = np.random.default_rng(self._split_seeds[split])
            x = rng.standard_normal((n, self.dim))
            y = self.label_functions.labels(x) + self.noise_std * rng.standard_normal((n, len(TASKS)))
            splits[split] = TensorSplit(
                inputs={"features": torch.from_numpy(x.astype(np.float32))},
                targets={t: torch.from_numpy(y[:, [i]].astype(np.float32)) for i, t in enumerate(TASKS)},
            )
        return splits
