"""MultiDigits: MultiMNIST-style two-digit images built from scikit-learn's bundled digits (no download).

Following Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018 (their
MultiMNIST), each image overlays two handwritten digits: one at the top-left and one shifted by
``offset`` pixels down and right. The 1,797 8x8 digits of ``sklearn.datasets.load_digits`` are split
into disjoint source pools for train / val / test (60/20/20, stratified by class), so no source digit
appears in two splits. Images are the pixel-wise maximum of the two digits, scaled to [0, 1], on a
``(8 + offset) x (8 + offset)`` canvas. Everything is deterministic from ``seed``.

Input ``image`` (1, 8 + offset, 8 + offset). Tasks: ``left`` (10 classes), ``right`` (10 classes), ``sum``
(regression: left + right, 0..18).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import DATAMODULES, MultiTaskDataModule, TensorSplit
from mtl_lab.data.stratified import stratified_split
from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec


@DATAMODULES.register("multi_digits")
class MultiDigitsDataModule(MultiTaskDataModule):
    name = "multi_digits"

    def __init__(
        self,
        train_size: int = 8000,
        val_size: int = 1000,
        test_size: int = 2000,
        offset: int = 3,
        regression_loss: str = "mse",
        **kwargs: object,
    ) -> None:
        if not 0 <= offset <= 8:
            raise ConfigError(f"data.offset: must be in 0..8, got {offset}")
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        for split, size in self.sizes.items():
            if size < 1:
                raise ConfigError(f"data.{split}_size: must be >= 1, got {size}")
        self.offset = offset
        self.regression_loss = regression_loss
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def declare_tasks(self) -> dict[str, TaskSpec]:
        return {
            "left": TaskSpec("left", "classification", 10),
            "right": TaskSpec("right", "classification", 10),
            "sum": TaskSpec("sum", "regression", 1, loss=self.regression_loss),
        }

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        side = 8 + self.offset
        return {"image": InputSpec((1, side, side))}

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        return {"train_size": 64, "val_size": 32, "test_size": 32, "batch_size": 16}

    def make_splits(self) -> dict[str, TensorSplit]:
        digits = load_digits()
        images = (digits.images / 16.0).astype(np.float32)
        labels = digits.target.astype(np.int64)
        rng = np.random.RandomState(self.seed)
        pools = stratified_split(np.arange(len(labels)), labels, rng)
        return {
            split: self._compose(images[pool], labels[pool], self.sizes[split], rng)
            for split, pool in pools.items()
        }

    def _compose(
        self, images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.RandomState
    ) -> TensorSplit:
        side = 8 + self.offset
        first = rng.randint(0, len(images), size=n)
        second = rng.randint(0, len(images), size=n)
        canvas = np.zeros((n, 1, side, side), dtype=np.float32)
        canvas[:, 0, :8, :8] = images[first]
        shifted = canvas[:, 0, self.offset :, self.offset :]
        np.maximum(shifted, images[second], out=shifted)
        left, right = labels[first], labels[second]
        return TensorSplit(
            inputs={"image": torch.from_numpy(canvas)},
            targets={
                "left": torch.from_numpy(left),
                "right": torch.from_numpy(right),
                "sum": torch.from_numpy((left + right).astype(np.float32)).unsqueeze(1),
            },
        )
