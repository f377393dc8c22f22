"""Iris: Fisher's 150 flowers from scikit-learn's bundled copy (``sklearn.datasets.load_iris``, no download).

Tasks: ``species`` (classification, 3 classes: setosa, versicolor, virginica) and ``petal_width``
(regression, in cm, not rescaled). Input ``features`` (3,): sepal length, sepal width and petal length
(petal width is a target, so it is not an input), standardised with the mean and the population standard
deviation (ddof 0) of all 150 rows: fixed constants of the dataset, not fitted on a split, so every part
and split is scaled the same way and there is no preprocessing to save.

``parts`` / ``part``: the rows are divided into ``parts`` disjoint parts, stratified by species (each part
holds about 50 / ``parts`` flowers of every species), from ``seed``; this datamodule serves part
``part``. The division depends on ``seed`` and ``parts`` only, so two datamodules with the same seed,
``parts=2`` and ``part`` 0 and 1 are two disjoint datasets (``data=per_task`` gives each one task).
Each part is then split 60/20/20 into train/val/test, stratified by species. ``parts`` is at most 10 (5
flowers of every species per part: 3/1/1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_iris

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import DATAMODULES, MultiTaskDataModule, TensorSplit
from mtl_lab.data.stratified import stratified_split
from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec

SPECIES = ("setosa", "versicolor", "virginica")
MAX_PARTS = 10
PETAL_WIDTH_COLUMN = 3


@DATAMODULES.register("iris")
class IrisDataModule(MultiTaskDataModule):
    """Iris part ``part`` of ``parts`` (see the module docstring), split 60/20/20."""

    name = "iris"

    def __init__(self, parts: int = 1, part: int = 0, **kwargs: object) -> None:
        if not 1 <= parts <= MAX_PARTS:
            raise ConfigError(f"data.parts: must be in 1..{MAX_PARTS}, got {parts}")
        if not 0 <= part < parts:
            raise ConfigError(f"data.part: must be in 0..{parts - 1} (data.parts={parts}), got {part}")
        self.parts, self.part = parts, part
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def declare_tasks(self) -> dict[str, TaskSpec]:
        return {
            "species": TaskSpec("species", "classification", 3, class_names=SPECIES),
            "petal_width": TaskSpec("petal_width", "regression", 1),
        }

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        return {"features": InputSpec((3,))}

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        return {"batch_size": 16}

    def rows(self) -> dict[str, np.ndarray]:
        """Indices into the 150 iris rows of each split of this part (sorted)."""
        species = load_iris().target
        rng = np.random.RandomState(self.seed)
        part_rows = _stratified_parts(species, self.parts, rng)[self.part]
        return stratified_split(part_rows, species, rng)

    def make_splits(self) -> dict[str, TensorSplit]:
        iris = load_iris()
        data = iris.data.astype(np.float64)
        inputs = np.delete(data, PETAL_WIDTH_COLUMN, axis=1)
        standardised = ((inputs - inputs.mean(axis=0)) / inputs.std(axis=0)).astype(np.float32)
        splits = {}
        for split, rows in self.rows().items():
            splits[split] = TensorSplit(
                inputs={"features": torch.from_numpy(standardised[rows])},
                targets={
                    "species": torch.from_numpy(iris.target[rows].astype(np.int64)),
                    "petal_width": torch.from_numpy(
                        data[rows, PETAL_WIDTH_COLUMN].astype(np.float32)
                    ).unsqueeze(1),
                },
            )
        return splits


def _stratified_parts(labels: np.ndarray, parts: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """``parts`` disjoint index sets covering every row, each with ~1/parts of every class."""
    chunks: list[list[np.ndarray]] = [[] for _ in range(parts)]
    for cls in np.unique(labels):
        shuffled = rng.permutation(np.flatnonzero(labels == cls))
        for k, chunk in enumerate(np.array_split(shuffled, parts)):
            chunks[k].append(chunk)
    return [np.concatenate(c) for c in chunks]
