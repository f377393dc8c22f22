"""``data=table``: a user's own CSV/TSV/Parquet/JSONL file(s) as a multi-task dataset.

Feature columns (``features: {numeric: [...], categorical: [...]}``) become the model inputs ``numeric``
and ``categorical`` (:mod:`~mtl_lab.data.table.features`); each task names its label column and kind
(``tasks: {churn: {column: churned, kind: binary}}``, :mod:`~mtl_lab.data.table.labels`). Splits come
from one file per split, a ``split_column`` or seeded random ``split`` fractions
(:mod:`~mtl_lab.data.table.splits`). Files are read column-wise with pyarrow and served as in-memory
tensors by the base class (whole batches sliced; no per-row Python objects).

Preprocessing is fitted on the train split only and saved as ``preprocessing.json`` by the run
(:meth:`TableDataModule.preprocessing_state`); ``mtl-eval`` loads it back
(:meth:`TableDataModule.load_preprocessing_state`), so a value maps as it did in training. The label
classes are fitted when the datamodule is built (the tasks' sizes depend on them); the feature
preprocessing when first needed (``input_specs``, ``setup``), so that several tables can first be given
one shared preprocessing (:meth:`TableDataModule.share_feature_preprocessing`).

Missing labels (empty cell, NaN, null) mask that task for that row, which stays for the other tasks:
every task of a table has a mask, so all batches carry the same keys. Row numbers in errors are 1-based
data rows of the file (1 = the first row after a CSV/TSV header, the first record of a JSONL or Parquet
file), the row in the original file even after a random split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import DATAMODULES, MultiTaskDataModule, TensorSplit, labelled_samples
from mtl_lab.data.table.config import (
    FeatureColumns,
    TaskColumn,
    check_missing_features,
    parse_features,
    parse_tasks,
    saved_task,
)
from mtl_lab.data.table.example_file import write_example_table
from mtl_lab.data.table.features import FeaturePreprocessing
from mtl_lab.data.table.labels import Classes, encode_labels, fit_classes
from mtl_lab.data.table.source import TableFile, read_table_file, task_where
from mtl_lab.data.table.splits import (
    SPLITS,
    check_fractions,
    check_split_column,
    read_per_split,
    resolve_sources,
    split_rows,
)
from mtl_lab.errors import ConfigError, DataError
from mtl_lab.tasks import TaskSpec

#: ``preprocessing.json`` of a table run: ``format``, ``features`` and ``tasks``.
STATE_FORMAT = "mtl_lab.table/1"


@DATAMODULES.register("table")
class TableDataModule(MultiTaskDataModule):
    """A table file (or one per split) with named feature and label columns (see the module docstring)."""

    name = "table"

    def __init__(
        self,
        path: str | None = None,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        features: Mapping[str, Sequence[str] | None] | None = None,
        tasks: Mapping[str, Mapping[str, Any] | None] | None = None,
        split: Mapping[str, float] | None = None,
        split_column: str | None = None,
        missing_features: str = "fill",
        batch_size: int = 256,
        eval_batch_size: int | None = 1024,
        num_workers: int = 0,
        seed: int | None = 0,
        use_tasks: Sequence[str] | str | None = None,
    ) -> None:
        self.features: FeatureColumns = parse_features(features)
        self.task_columns: dict[str, TaskColumn] = {t.task: t for t in parse_tasks(tasks, self.features)}
        self.missing_features = check_missing_features(missing_features)
        self.sources = resolve_sources(path, train_path, val_path, test_path)
        self.fractions = check_fractions(split)
        labels = [t.column for t in self.task_columns.values()]
        used = (*self.features.numeric, *self.features.categorical, *labels)
        check_split_column(split_column, self.sources, used, "feature or label")
        self.split_column = split_column
        self._split_seed = 0 if seed is None else seed
        self._files: dict[str, TableFile] | None = None
        self._rows: dict[str, np.ndarray | None] = {}
        self._feature_preprocessing: FeaturePreprocessing | None = None
        self._classes: dict[str, Classes] = self._fit_classes()
        super().__init__(batch_size, eval_batch_size, num_workers, seed, use_tasks)

    # --- reading -------------------------------------------------------------------------------
    def _read(self) -> dict[str, TableFile]:
        """Each split's file, read (once; again after the tensors are built and the columns dropped)."""
        if self._files is None:
            tasks = list(self.task_columns.values())

            def read(path: Path, key: str) -> TableFile:
                return read_table_file(
                    path, key, self.features, tasks, self.split_column, self.missing_features
                )

            files = read_per_split(self.sources, read)
            train = files["train"]
            self._rows = split_rows(
                self.sources,
                train.n_rows,
                train.split_values,
                self.split_column,
                self.fractions,
                self._split_seed,
            )
            self._files = files
        return self._files

    def _fit_classes(self) -> dict[str, Classes]:
        files = self._read()
        return {
            t.task: fit_classes(
                files["train"].labels_of(t.task, self._rows["train"]), task_where(t, files["train"].path)
            )
            for t in self.task_columns.values()
            if t.kind == "classification"
        }

    def describe_source(self) -> str:
        """The file(s) read, for messages."""
        return self.sources.describe()

    # --- tasks and inputs ----------------------------------------------------------------------------
    def declare_tasks(self) -> dict[str, TaskSpec]:
        specs = {}
        for task, column in self.task_columns.items():
            classes = self._classes.get(task)
            names = tuple(str(c) for c in classes) if classes is not None else None
            size = len(classes) if classes is not None else 1
            specs[task] = TaskSpec(task, column.kind, size, loss=column.loss, class_names=names)
        return specs

    def feature_preprocessing(self) -> FeaturePreprocessing:
        """The feature preprocessing in use: fitted on the train split when first needed (or shared, or
        loaded)."""
        if self._feature_preprocessing is None:
            files = self._read()
            train = files["train"].features(self._rows["train"])
            self._feature_preprocessing = FeaturePreprocessing.fit(self.features, [train])
        return self._feature_preprocessing

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        return self.feature_preprocessing().input_specs

    # --- splits --------------------------------------------------------------------------------------
    def make_splits(self) -> dict[str, TensorSplit]:
        preprocessing = self.feature_preprocessing()
        files = self._read()
        splits = {}
        for split in SPLITS:
            table, rows = files[split], self._rows[split]
            features = table.features(rows)
            n_rows = features.n_rows
            inputs = preprocessing.encode(features)
            targets, masks = {}, {}
            for task in self.tasks:
                column = self.task_columns[task]
                where = f"{task_where(column, table.path)}, split {split!r}"
                targets[task], masks[task] = encode_labels(
                    table.labels[task], column.kind, self._classes.get(task), rows, where
                )
                if labelled_samples(masks[task], n_rows) == 0:
                    raise DataError(f"{where}: no labelled sample in the split")
            splits[split] = TensorSplit(inputs=inputs, targets=targets, masks=masks)
        self._files = None  # the tensors hold everything now; the columns are read again if needed
        return splits

    # --- preprocessing state ---------------------------------------------------------------------
    def preprocessing_state(self) -> dict[str, Any]:
        """``format``, ``features`` (numeric mean/std, categorical vocabularies, in input order) and
        ``tasks`` (``{task: {column, kind, classes?}}``, classes in index order)."""
        tasks: dict[str, Any] = {}
        for task, column in sorted(self.task_columns.items()):
            tasks[task] = {"column": column.column, "kind": column.kind}
            if task in self._classes:
                tasks[task]["classes"] = list(self._classes[task])
        return {
            "format": STATE_FORMAT,
            "features": self.feature_preprocessing().to_state(),
            "tasks": tasks,
        }

    def load_preprocessing_state(self, state: Mapping[str, Any]) -> None:
        """Use a saved preprocessing: features and class lists (hence tasks and class names) come from
        it, and the data is encoded with it from the next ``setup`` on."""
        where = "preprocessing.json"
        if state.get("format") != STATE_FORMAT:
            raise ConfigError(f"{where}: not a data=table preprocessing (format {state.get('format')!r})")
        features = FeaturePreprocessing.from_state(state["features"], self.features, where)
        saved_tasks = state.get("tasks") or {}
        classes: dict[str, Classes] = {}
        for task, column in self.task_columns.items():
            saved = saved_task(saved_tasks, task, column, where)
            if column.kind == "classification":
                classes[task] = list(saved["classes"])
        self._feature_preprocessing, self._classes = features, classes
        declared = self.declare_tasks()
        self.tasks = {task: declared[task] for task in self.tasks}
        self._splits = {}

    @staticmethod
    def share_feature_preprocessing(tables: Sequence[TableDataModule]) -> None:
        """Fit ONE feature preprocessing over the union of ``tables``' train rows and make every table
        use it (equal ``input_specs``; a value maps to the same number or id in all of them). The tables
        need the same ``features``; call it before their tensors are built (it resets them otherwise)."""
        if not tables:
            return
        first = tables[0]
        for other in tables[1:]:
            if other.features != first.features:
                raise ConfigError(
                    f"data: tables sharing one feature preprocessing need the same features; "
                    f"{first.describe_source()} has {first.features.describe()}, "
                    f"{other.describe_source()} has {other.features.describe()}"
                )
        parts = [t._read()["train"].features(t._rows["train"]) for t in tables]
        shared = FeaturePreprocessing.fit(first.features, parts)
        for table in tables:
            table._feature_preprocessing = shared
            table._splits = {}

    @classmethod
    def example(cls, workdir: Path) -> dict[str, Any]:
        path = write_example_table(Path(workdir) / "example_table.csv")
        return {
            "path": str(path),
            "features": {"numeric": ["x1", "x2"], "categorical": ["colour"]},
            "tasks": {
                "flag": {"column": "flag", "kind": "binary"},
                "kind": {"column": "kind", "kind": "classification"},
                "amount": {"column": "amount", "kind": "regression"},
            },
            "split_column": "split",
            "batch_size": 16,
            "eval_batch_size": 16,
        }
