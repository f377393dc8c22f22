"""A ``data=table`` file streamed for prediction: read a block at a time
(:mod:`~mtl_lab.prediction.file_batches`), the selected rows (:mod:`~mtl_lab.prediction.table_rows`) cut
into batches of exactly ``batch_size`` rows (the last one shorter), each batch encoded with the run's saved
preprocessing only when this rank keeps it. Memory holds a block and a batch, whatever the file's size.

The feature columns must be in the file (a missing one is an error naming the closest column); a task's
label column is optional: the tasks whose column is there are scored. ``carry`` columns are passed
through to the output unchanged (from CSV/TSV, one that is also a feature or label column as text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from mtl_lab.data.table.reader import TEXT_FORMATS, check_columns
from mtl_lab.errors import unknown_choice
from mtl_lab.prediction.file_batches import read_batches
from mtl_lab.prediction.sources import PredictionSource, SourceBatch
from mtl_lab.prediction.table_batches import encode_rows
from mtl_lab.prediction.table_data import TablePredictionData
from mtl_lab.prediction.table_rows import predicted_file

#: Rows read from the file at a time (Parquet, JSONL; CSV/TSV read a block).
READ_ROWS = 65536


class TableStream(PredictionSource):
    """The rows of a table file to predict, in batches (see the module docstring)."""

    def __init__(
        self,
        data: TablePredictionData,
        node: Mapping[str, Any],
        split: str,
        new_data: bool,
        carry: Sequence[str],
        batch_size: int,
    ) -> None:
        self.data = data
        self.file = predicted_file(node, split, new_data)
        self.batch_size = batch_size
        self.missing_features = str(node.get("missing_features", "fill"))
        path, columns = self.file.path, self.file.columns
        wanted = {c: "data.features.numeric" for c in data.features.numeric}
        wanted |= {c: "data.features.categorical" for c in data.features.categorical}
        check_columns(path, columns, wanted)
        features = list(wanted)
        for column in carry:
            if column not in columns:
                raise unknown_choice(f"carry ({path})", column, columns, "column")
        self.carry = list(carry)
        self.labelled_tasks = tuple(t for t, c in data.task_columns.items() if c.column in columns)
        labels = [data.task_columns[t].column for t in self.labelled_tasks]
        split_column = [self.file.selection.column] if self.file.selection.column else []
        self.read = list(dict.fromkeys([*features, *labels, *split_column, *self.carry]))
        self.text_columns = {*features, *labels, *split_column}
        self.description = self.file.selection.description
        self.path = self.file.path

    def batches(self, keep: Callable[[int], bool]) -> Iterator[SourceBatch]:
        text_format = self.file.fmt in TEXT_FORMATS
        for number, (rows, table) in enumerate(self._selected_batches()):
            if keep(number):
                batch = encode_rows(
                    table,
                    rows,
                    self.data,
                    self.labelled_tasks,
                    self.file.path,
                    text_format,
                    self.missing_features,
                )
                yield SourceBatch(batch, table.select(self.carry) if self.carry else None)

    def _selected_batches(self) -> Iterator[tuple[np.ndarray, pa.Table]]:
        """(0-based file rows, their columns) of the selected rows, ``batch_size`` at a time."""
        size, file = self.batch_size, self.file
        pending: list[pa.Table] = []
        pending_rows: list[np.ndarray] = []
        count = start = 0
        for block in read_batches(file.path, file.fmt, file.key, self.read, self.text_columns, READ_ROWS):
            positions = file.selection.positions(start, block)
            if positions is None:
                pending_rows.append(np.arange(start, start + block.num_rows))
            else:
                pending_rows.append(start + positions)
            start += block.num_rows
            pending.append(block if positions is None else block.take(positions))
            count += pending_rows[-1].size
            while count >= size:
                table, rows = pa.concat_tables(pending), np.concatenate(pending_rows)
                yield rows[:size], table.slice(0, size)
                pending, pending_rows = [table.slice(size)], [rows[size:]]
                count -= size
        if count:
            yield np.concatenate(pending_rows), pa.concat_tables(pending)
