"""Some rows of a table file encoded as a :class:`~mtl_lab.batch.Batch` with the run's saved
preprocessing, exactly as ``data=table`` encodes a split: features standardised / mapped to vocabulary
ids (:meth:`FeaturePreprocessing.encode`), labels parsed and encoded per task kind
(:mod:`mtl_lab.data.table.labels`) for the tasks whose label column the file has.

Columns read as text from CSV/TSV are converted by the table's rules: numeric features and regression
labels parsed as numbers, binary and class labels as numbers when every value of the batch is one (as
pyarrow infers a whole column's type) and as text otherwise. Errors name the file row (1-based, the
header not counted).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtl_lab.batch import Batch
from mtl_lab.data.table.config import TaskColumn
from mtl_lab.data.table.features import FeatureRows
from mtl_lab.data.table.labels import encode_labels, parse_labels
from mtl_lab.data.table.values import Column, as_text, first, is_text, missing, to_float
from mtl_lab.errors import DataError
from mtl_lab.prediction.table_data import TablePredictionData

_ROW = re.compile(r"at row (\d+)")


def _numbers_if_all(column: Column) -> Column:
    """A text column as float64 when every value parses as a number, else unchanged."""
    if not is_text(column):
        return column
    try:
        return pc.cast(as_text(column), pa.float64())
    except pa.ArrowInvalid:
        return column


def _in_file_rows(err: DataError, rows: np.ndarray) -> DataError:
    """``err`` with its "at row N" (N: 1-based position in the batch) turned into the file's row."""
    message = _ROW.sub(lambda m: f"at row {int(rows[int(m.group(1)) - 1]) + 1}", str(err))
    return DataError(message)


def encode_rows(
    table: pa.Table,
    rows: np.ndarray,
    data: TablePredictionData,
    labelled: Sequence[str],
    path: Path,
    text_format: bool,
    missing_features: str,
) -> Batch:
    """The batch of ``table``'s rows (``rows``: their 0-based rows in the file); targets and masks of
    the ``labelled`` tasks."""
    features = data.features
    if missing_features == "error":
        for column in (*features.numeric, *features.categorical):
            row = first(missing(table.column(column)))
            if row is not None:
                raise DataError(
                    f"data.missing_features=error: {path}, column {column!r}, row {int(rows[row]) + 1}: "
                    "missing value"
                )
    numeric = {c: to_float(table.column(c), f"feature {c!r} ({path})", rows) for c in features.numeric}
    categorical = {c: as_text(table.column(c)) for c in features.categorical}
    inputs = data.preprocessing.encode(FeatureRows(numeric, categorical, None, table.num_rows, str(path)))
    targets, masks = {}, {}
    for task in labelled:
        column: TaskColumn = data.task_columns[task]
        where = f"task {task!r} ({path}, column {column.column!r})"
        values = table.column(column.column)
        if text_format and column.kind != "regression":
            values = _numbers_if_all(values)
        try:
            labels = parse_labels(values, column.kind, where, text_format)
            classes = data.classes.get(task)
            targets[task], masks[task] = encode_labels(labels, column.kind, classes, None, where)
        except DataError as err:
            raise _in_file_rows(err, rows) from None
    return Batch(inputs=inputs, targets=targets, masks=masks)
