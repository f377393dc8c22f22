"""Which file, and which of its rows, mtl-predict predicts for a ``data=table`` run and a ``split``.

- ``data.path`` given to mtl-predict (new data): every row of that file; only the rows whose
  ``data.split_column`` is ``split`` when the file has that column.
- otherwise the run's own data: with one file per split, every row of ``data.<split>_path``; with one
  ``data.path``, the rows of ``split`` by its ``split_column``, or else the very rows the run's seeded
  random split gave ``split`` (:func:`mtl_lab.data.table.splits.random_split`).

Rows keep the file's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtl_lab.data.table.reader import check_file
from mtl_lab.data.table.splits import check_fractions, random_split, resolve_sources
from mtl_lab.data.table.values import as_text
from mtl_lab.errors import unknown_choice
from mtl_lab.prediction.file_batches import count_rows, file_columns


@dataclass(frozen=True)
class RowSelection:
    """The rows of a file to predict: all, those whose ``column`` holds ``split``, or the sorted 0-based
    ``rows``."""

    description: str
    column: str | None = None
    split: str | None = None
    rows: np.ndarray | None = None

    def positions(self, start: int, table: pa.Table) -> np.ndarray | None:
        """Positions of the selected rows of ``table``, the file's rows from ``start`` on (None: all)."""
        if self.column is not None:
            hit = pc.fill_null(pc.equal(as_text(table.column(self.column)), self.split), False)
            return np.flatnonzero(np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool))
        if self.rows is not None:
            low, high = np.searchsorted(self.rows, [start, start + table.num_rows])
            return self.rows[low:high] - start
        return None


@dataclass(frozen=True)
class PredictedFile:
    path: Path
    key: str  # the config key naming the file, for errors
    fmt: str
    columns: list[str]
    selection: RowSelection


def predicted_file(node: Mapping[str, Any], split: str, new_data: bool) -> PredictedFile:
    """The file and rows to predict (see the module docstring); ``node`` is the run's ``data`` node with
    the overrides applied, ``new_data`` whether ``data.path`` was given to mtl-predict."""
    if new_data:
        path, key = Path(str(node["path"])), "data.path"
    else:
        sources = resolve_sources(
            node.get("path"), node.get("train_path"), node.get("val_path"), node.get("test_path")
        )
        path, key = sources.files[split], sources.keys[split]
    fmt = check_file(path, key)
    columns = file_columns(path, fmt, key)
    split_column = node.get("split_column")
    if key != "data.path":
        selection = RowSelection(f"every row of {path} ({key})")
    elif split_column is not None and split_column in columns:
        described = f"the rows of {path} whose {split_column!r} is {split!r}"
        selection = RowSelection(described, split_column, split)
    elif split_column is not None and not new_data:
        raise unknown_choice(f"data.split_column ({path})", split_column, columns, "column")
    elif new_data:
        absent = f" (no split column {split_column!r})" if split_column is not None else ""
        selection = RowSelection(f"every row of {path}{absent}")
    else:
        fractions = check_fractions(node.get("split"))
        seed = node.get("seed")
        rows = random_split(count_rows(path, fmt, key), fractions, 0 if seed is None else seed, path)[split]
        selection = RowSelection(f"the {split} split of {path} (the run's random split)", rows=rows)
    return PredictedFile(path, key, fmt, columns, selection)
