"""One file of ``data=table`` read into typed columns: numeric features as float64 (NaN where missing),
categorical features as text (null where missing), each task's labels parsed by its kind, and the
``split_column`` as read. Only these columns are read, column-wise (:mod:`mtl_lab.data.table.reader`).

With ``missing_features=error`` a missing feature value raises naming the file, column and row (1-based
data rows of the file, the header not counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from mtl_lab.data.table.config import FeatureColumns, TaskColumn
from mtl_lab.data.table.features import FeatureRows
from mtl_lab.data.table.labels import Labels, parse_labels, take
from mtl_lab.data.table.reader import TEXT_FORMATS, read_columns, table_format
from mtl_lab.data.table.values import as_text, first, missing, to_float
from mtl_lab.errors import DataError


@dataclass
class TableFile:
    """The needed columns of one file, converted (see the module docstring)."""

    path: Path
    n_rows: int
    numeric: dict[str, np.ndarray]
    categorical: dict[str, pa.ChunkedArray]
    labels: dict[str, Labels]  # by task
    split_values: pa.ChunkedArray | None

    def features(self, rows: np.ndarray | None) -> FeatureRows:
        """The feature columns of ``rows`` (0-based rows of the file; None: all), taken when asked."""
        n_rows = self.n_rows if rows is None else len(rows)
        return FeatureRows(self.numeric, self.categorical, rows, n_rows, str(self.path))

    def labels_of(self, task: str, rows: np.ndarray | None) -> Labels:
        return take(self.labels[task], rows)


def task_where(task: TaskColumn, path: Path) -> str:
    return f"task {task.task!r} ({path}, column {task.column!r})"


def read_table_file(
    path: Path,
    key: str,
    features: FeatureColumns,
    tasks: Sequence[TaskColumn],
    split_column: str | None,
    missing_features: str,
) -> TableFile:
    """Read and convert the columns ``data=table`` needs from ``path`` (``key`` names it in errors)."""
    wanted = {c: "data.features.numeric" for c in features.numeric}
    wanted |= {c: "data.features.categorical" for c in features.categorical}
    wanted |= {t.column: f"data.tasks.{t.task}.column" for t in tasks}
    if split_column is not None:
        wanted[split_column] = "data.split_column"
    table = read_columns(path, key, wanted, text_columns=features.categorical)
    n_rows = table.num_rows
    if n_rows == 0:
        raise DataError(f"{key}: {path} has no data rows")
    text_format = table_format(path, key) in TEXT_FORMATS
    if missing_features == "error":
        for column in (*features.numeric, *features.categorical):
            row = first(missing(table.column(column)))
            if row is not None:
                raise DataError(
                    f"data.missing_features=error: {path}, column {column!r}, row {row + 1}: missing value "
                    "(data.missing_features=fill fills it: numeric with the train mean, categorical with "
                    "the unknown id 0)"
                )
    numeric = {}
    for column in features.numeric:  # converted one by one, each read column released once converted
        numeric[column] = to_float(table.column(column), f"feature {column!r} ({path})")
        table = table.drop_columns([column])
        pa.default_memory_pool().release_unused()
    categorical = {c: as_text(table.column(c)) for c in features.categorical}
    labels = {
        t.task: parse_labels(table.column(t.column), t.kind, task_where(t, path), text_format) for t in tasks
    }
    split_values = table.column(split_column) if split_column is not None else None
    del table
    pa.default_memory_pool().release_unused()
    return TableFile(path, n_rows, numeric, categorical, labels, split_values)
