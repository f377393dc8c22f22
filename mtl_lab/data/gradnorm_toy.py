"""The synthetic multi-task regression of GradNorm (Chen et al., ICML 2018, section 4).

Task t maps x in R^250 to R^100 by ``f_t(x) = sigma_t * tanh((B + eps_t) x)``: ``B`` is shared, its
entries i.i.d. N(0, 10^2); ``eps_t`` is task-specific, entries i.i.d. N(0, 3.5^2) (the paper's 10 and
3.5 read as standard deviations). ``sigmas`` sets the tasks' scales and its length sets T; the loss is
squared error. Tasks are named ``task_0 .. task_{T-1}``.

What the paper leaves open, and what is chosen here: the input distribution (x ~ N(0, input_std^2 I)
with ``input_std = 0.01``, so that (B + eps_t) x has a standard deviation of about 1.8 and tanh is
not saturated), that the network is fed the standardised input z = x / input_std (unit variance, as
default initialisations expect; the task is unchanged), dataset sizes (10,000 / 1,000 / 1,000
samples) and that targets carry no extra noise. The input is named ``features``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import DATAMODULES, MultiTaskDataModule, TensorSplit
from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec


@DATAMODULES.register("gradnorm_toy")
class GradNormToyDataModule(MultiTaskDataModule):
    name = "gradnorm_toy"

    def __init__(
        self,
        sigmas: Sequence[float] = (1.0, 100.0),
        input_dim: int = 250,
        output_dim: int = 100,
        b_std: float = 10.0,
        eps_std: float = 3.5,
        input_std: float = 0.01,
        train_size: int = 10000,
        val_size: int = 1000,
        test_size: int = 1000,
        **kwargs: object,
    ) -> None:
        self.sigmas = [float(s) for s in sigmas]
        if not self.sigmas:
            raise ConfigError("data.sigmas: needs at least one task scale, got []")
        self.input_dim, self.output_dim = input_dim, output_dim
        self.b_std, self.eps_std, self.input_std = b_std, eps_std, input_std
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def declare_tasks(self) -> dict[str, TaskSpec]:
        return {
            f"task_{i}": TaskSpec(f"task_{i}", "regression", self.output_dim) for i in range(len(self.sigmas))
        }

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        return {"features": InputSpec((self.input_dim,))}

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        return {"train_size": 64, "val_size": 32, "test_size": 32, "batch_size": 16, "input_dim": 12}

    def make_splits(self) -> dict[str, TensorSplit]:
        g = torch.Generator().manual_seed(self.seed)
        shape = (self.output_dim, self.input_dim)
        b = torch.randn(shape, generator=g) * self.b_std
        eps = [torch.randn(shape, generator=g) * self.eps_std for _ in self.sigmas]
        splits = {}
        for split, n in self.sizes.items():
            z = torch.randn(n, self.input_dim, generator=g)
            x = z * self.input_std
            targets = {
                f"task_{i}": sigma * torch.tanh(x @ (b + eps[i]).T) for i, sigma in enumerate(self.sigmas)
            }
            splits[split] = TensorSplit(inputs={"features": z}, targets=targets)
        return splits
