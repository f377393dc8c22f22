"""Base datamodule: declares tasks and serves the batch dict of DESIGN.md.

Batch contract: ``{"inputs": Tensor[B, ...], "targets": {task: Tensor[B, ...]}}`` and optionally
``"masks": {task: bool[B]}`` for partially labelled data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.registry import Registry
from mtl_lab.tasks import TaskSpec

DATAMODULES: Registry[MultiTaskDataModule] = Registry("data")

SPLITS = ("train", "val", "test")


@dataclass
class TensorSplit:
    """One split held in memory: inputs, per-task targets and optional per-task masks."""

    inputs: Tensor
    targets: dict[str, Tensor]
    masks: dict[str, Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


class TensorMultiTaskDataset(Dataset[dict[str, Any]]):
    """Serves whole batches by fancy indexing (``__getitems__``), not sample-by-sample collation."""

    def __init__(self, split: TensorSplit) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.__getitems__([index])

    def __getitems__(self, indices: list[int]) -> dict[str, Any]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        batch: dict[str, Any] = {
            "inputs": self.split.inputs[idx],
            "targets": {t: y[idx] for t, y in self.split.targets.items()},
        }
        if self.split.masks:
            batch["masks"] = {t: m[idx] for t, m in self.split.masks.items()}
        return batch


def _identity_collate(batch: dict[str, Any]) -> dict[str, Any]:
    return batch


class MultiTaskDataModule(pl.LightningDataModule, ABC):
    """A datamodule that declares its tasks and yields multi-task batch dicts.

    Subclasses implement :meth:`declare_tasks`, :attr:`input_shape` and :meth:`make_splits`
    (in-memory tensors), deterministic from ``seed`` (None counts as 0, so every DDP rank builds
    the same data even in an unseeded run). ``tasks`` selects a subset of the declared tasks
    (None = all); selecting one task gives a single-task baseline on the same data.
    """

    name: str = "data"

    def __init__(
        self,
        batch_size: int = 128,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        seed: int | None = 0,
        tasks: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"data.batch_size: must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.seed = 0 if seed is None else seed  # data stay deterministic even in an unseeded run
        self.tasks = self._select(self.declare_tasks(), tasks)
        self._splits: dict[str, TensorSplit] = {}

    def _select(self, declared: dict[str, TaskSpec], selection: Sequence[str] | None) -> dict[str, TaskSpec]:
        if selection is None:
            return declared
        if isinstance(selection, str):
            selection = [selection]
        if len(selection) == 0:
            raise ConfigError(f"tasks: empty selection; choices: {', '.join(declared)}")
        for task in selection:
            if task not in declared:
                raise unknown_choice("tasks", task, declared, f"task for data {self.name!r}")
        if len(set(selection)) != len(selection):
            raise ConfigError(f"tasks: duplicate task in selection {list(selection)}")
        return {t: declared[t] for t in selection}

    @abstractmethod
    def declare_tasks(self) -> dict[str, TaskSpec]:
        """All tasks this data source offers, by name."""

    @property
    @abstractmethod
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample (without the batch dimension)."""

    @abstractmethod
    def make_splits(self) -> dict[str, TensorSplit]:
        """Build the ``train``, ``val`` and ``test`` splits (targets for every declared task)."""

    def setup(self, stage: str | None = None) -> None:
        if self._splits:
            return
        splits = self.make_splits()
        for split_name in SPLITS:
            split = splits[split_name]
            split.targets = {t: split.targets[t] for t in self.tasks}
            split.masks = {t: split.masks[t] for t in self.tasks if t in split.masks}
            for task, spec in self.tasks.items():
                spec.validate_targets(split.targets[task], f"data {self.name!r}, split {split_name!r}")
        self._splits = splits

    def split(self, name: str) -> TensorSplit:
        if name not in SPLITS:
            raise unknown_choice("split", name, SPLITS, "split")
        self.setup()
        return self._splits[name]

    def _loader(self, split: str, shuffle: bool) -> DataLoader[dict[str, Any]]:
        return DataLoader(
            TensorMultiTaskDataset(self.split(split)),
            batch_size=self.batch_size if split == "train" else self.eval_batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            collate_fn=_identity_collate,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader[dict[str, Any]]:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader[dict[str, Any]]:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader[dict[str, Any]]:
        return self._loader("test", shuffle=False)
