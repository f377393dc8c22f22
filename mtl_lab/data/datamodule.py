"""Datamodule contract and the in-memory base class.

:class:`BaseDataModule` (the contract): declares its tasks (``tasks``: name -> :class:`TaskSpec`) and its
inputs (``input_specs``: name -> :class:`InputSpec`), and its loaders yield :class:`~mtl_lab.batch.Batch`.
It reports how many samples of each task are labelled per split (``labelled_counts``), may carry fitted
preprocessing (``preprocessing_state``, saved in the run directory as ``preprocessing.json`` and given
back to the same data by ``mtl-eval``), and declares a small example (``example``) for the contract tests.
``use_tasks`` selects a subset of the declared tasks (None = all; one task = a single-task baseline).

:class:`DatasetDataModule`: a source whose splits are datasets serving whole batches (``dataset``); its
validation and test loaders, and the DataLoader options all its loaders share.

:class:`MultiTaskDataModule`: data held in memory as :class:`TensorSplit` tensors (``make_splits``),
served by slicing whole batches (no per-sample Python objects), deterministic from ``seed`` (None counts
as 0, so every DDP rank builds the same data even in an unseeded run).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from mtl_lab.batch import Batch, InputSpec
from mtl_lab.data.resumable_loader import ResumableLoader, training_loader
from mtl_lab.errors import ConfigError, DataError, unknown_choice
from mtl_lab.registry import Registry
from mtl_lab.tasks import TaskSpec

DATAMODULES: Registry[BaseDataModule] = Registry("data")

SPLITS = ("train", "val", "test")


def labelled_samples(mask: Tensor | None, size: int) -> int:
    """Samples with at least one labelled unit (a per-token mask counts a sample once)."""
    if mask is None:
        return size
    return int(mask.reshape(mask.shape[0], -1).any(dim=1).sum()) if mask.numel() else 0


class BaseDataModule(pl.LightningDataModule, ABC):
    """The contract every data source implements (see the module docstring)."""

    name: str = "data"
    tasks: dict[str, TaskSpec]

    @property
    @abstractmethod
    def input_specs(self) -> dict[str, InputSpec]:
        """The model inputs of every batch, by name."""

    @abstractmethod
    def labelled_counts(self) -> dict[str, dict[str, int]]:
        """``{split: {task: labelled samples}}`` of the selected tasks."""

    @property
    def one_task_per_step(self) -> bool:
        """Whether a training batch carries the labels of one task only (``data.mode=sample``)."""
        return False

    def preprocessing_state(self) -> dict[str, Any] | None:
        """Preprocessing fitted on the training split (JSON-serialisable), or None when there is none."""
        return None

    def load_preprocessing_state(self, state: Mapping[str, Any]) -> None:
        """Use a saved preprocessing instead of fitting one (before the data is first read)."""
        raise ConfigError(f"data {self.name!r}: has no preprocessing to load")

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        """Keyword arguments of a small instance (files it needs written under ``workdir``)."""
        raise NotImplementedError(f"{cls.__name__} declares no example")


def select_tasks(
    declared: Mapping[str, TaskSpec], selection: Sequence[str] | str | None, data: str
) -> dict[str, TaskSpec]:
    """The selected subset of ``declared`` (None: all), in selection order; errors name the choices."""
    if selection is None:
        return dict(declared)
    if isinstance(selection, str):
        selection = [selection]
    if len(selection) == 0:
        raise ConfigError(f"tasks: empty selection; choices: {', '.join(declared)}")
    for task in selection:
        if task not in declared:
            raise unknown_choice("tasks", task, declared, f"task for data {data!r}")
    if len(set(selection)) != len(selection):
        raise ConfigError(f"tasks: duplicate task in selection {list(selection)}")
    return {t: declared[t] for t in selection}


@dataclass
class TensorSplit:
    """One split held in memory: named inputs, per-task targets and optional per-task masks."""

    inputs: dict[str, Tensor]
    targets: dict[str, Tensor]
    masks: dict[str, Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(next(iter(self.inputs.values())).shape[0])


class TensorMultiTaskDataset(Dataset[Batch]):
    """Serves whole batches by fancy indexing (``__getitems__``), not sample-by-sample collation."""

    def __init__(self, split: TensorSplit) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> Batch:
        return self.__getitems__([index])

    def __getitems__(self, indices: list[int]) -> Batch:
        idx = torch.as_tensor(indices, dtype=torch.long)
        split = self.split
        return Batch(
            inputs={n: x[idx] for n, x in split.inputs.items()},
            targets={t: y[idx] for t, y in split.targets.items()},
            masks={t: m[idx] for t, m in split.masks.items()},
        )


def identity_collate(batch: Batch) -> Batch:
    return batch


class DatasetDataModule(BaseDataModule):
    """A source whose splits are datasets that serve whole :class:`~mtl_lab.batch.Batch` es
    (``__getitems__``): validation and test loaders in order, ``eval_batch_size`` (default:
    ``batch_size``) at a time. ``seed`` None counts as 0, so the data and their shuffles stay
    deterministic even in an unseeded run. Subclasses implement :meth:`dataset` and ``train_dataloader``."""

    def __init__(
        self, batch_size: int, eval_batch_size: int | None, num_workers: int, seed: int | None
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"data.batch_size: must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.seed = 0 if seed is None else seed

    @abstractmethod
    def dataset(self, split: str) -> Dataset[Batch]:
        """The split ``split`` (``train``/``val``/``test``) as a dataset."""

    def loader_options(self) -> dict[str, Any]:
        """DataLoader arguments of every loader of this source, besides the dataset and its sampling."""
        return {
            "num_workers": self.num_workers,
            "collate_fn": identity_collate,
            "persistent_workers": self.num_workers > 0,
        }

    def _loader(self, split: str) -> DataLoader[Batch]:
        return DataLoader(self.dataset(split), batch_size=self.eval_batch_size, **self.loader_options())

    def val_dataloader(self) -> DataLoader[Batch]:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader[Batch]:
        return self._loader("test")


class MultiTaskDataModule(DatasetDataModule):
    """In-memory data. Subclasses implement :meth:`declare_tasks`, :attr:`input_specs` and
    :meth:`make_splits` (``train``/``val``/``test`` :class:`TensorSplit`, targets for every declared task)."""

    def __init__(
        self,
        batch_size: int = 128,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        seed: int | None = 0,
        use_tasks: Sequence[str] | None = None,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, num_workers, seed)
        self.tasks = select_tasks(self.declare_tasks(), use_tasks, self.name)
        self._splits: dict[str, TensorSplit] = {}

    @abstractmethod
    def declare_tasks(self) -> dict[str, TaskSpec]:
        """All tasks this data source offers, by name."""

    @abstractmethod
    def make_splits(self) -> dict[str, TensorSplit]:
        """Build the ``train``, ``val`` and ``test`` splits."""

    def setup(self, stage: str | None = None) -> None:
        if self._splits:
            return
        splits = self.make_splits()
        for split_name in SPLITS:
            split = splits[split_name]
            if len(split) == 0:
                raise DataError(f"data {self.name!r}: split {split_name!r} is empty")
            split.targets = {t: split.targets[t] for t in self.tasks}
            split.masks = {t: split.masks[t] for t in self.tasks if t in split.masks}
            for task, spec in self.tasks.items():
                where = f"data {self.name!r}, split {split_name!r}"
                spec.validate_targets(split.targets[task], where, split.masks.get(task))
                if labelled_samples(split.masks.get(task), len(split)) == 0:
                    raise DataError(f"task {task!r} ({where}): no labelled sample in the split")
        self._splits = splits

    def split(self, name: str) -> TensorSplit:
        if name not in SPLITS:
            raise unknown_choice("split", name, SPLITS, "split")
        self.setup()
        return self._splits[name]

    def labelled_counts(self) -> dict[str, dict[str, int]]:
        counts = {}
        for name in SPLITS:
            split = self.split(name)
            counts[name] = {t: labelled_samples(split.masks.get(t), len(split)) for t in self.tasks}
        return counts

    def dataset(self, split: str) -> TensorMultiTaskDataset:
        return TensorMultiTaskDataset(self.split(split))

    def train_dataloader(self) -> ResumableLoader:
        """Shuffled from (``seed``, epoch), this rank's share under DDP, its position checkpointed
        (:mod:`mtl_lab.data.resumable_loader`)."""
        trainer = self.trainer
        replicas, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        return training_loader(
            self.dataset("train"), self.batch_size, self.seed, replicas, rank, **self.loader_options()
        )
