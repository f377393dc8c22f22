"""Label columns of ``data=table``: parsed per task kind when the file is read, encoded per split.

- ``binary``: booleans, the numbers 0/1, or the text 0/1/true/false (any case) -> float 0/1.
- ``regression``: numbers (text that parses as a number counts) -> float; inf is an error.
- ``classification``: text or whole numbers; the classes are the distinct values of the train split,
  sorted (numbers numerically, text as text), recorded as the task's class names; class index = position.
  (In CSV/TSV a column whose every value is a whole number holds numbers.) A value of another split that
  is not a train class is an error naming task, column, split, row, value and the train classes.

A missing label (null, NaN, empty text) masks the task for that row only: the target holds 0 there and
the mask False, and the row stays for the other tasks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor

from mtl_lab.data.table.values import (
    Column,
    as_text,
    chunked,
    first,
    is_text,
    missing,
    row_number,
    to_float,
    value_at,
)
from mtl_lab.errors import DataError

#: Parsed labels: float32 with NaN where missing (binary, regression) or class values (classification).
Labels = np.ndarray | pa.ChunkedArray
Classes = list[str] | list[int]
BINARY_TEXT = {"0": 0.0, "false": 0.0, "1": 1.0, "true": 1.0}


def parse_labels(column: Column, kind: str, where: str, text_format: bool) -> Labels:
    """The label column of a whole file in the kind's form; ``where`` names task, file and column."""
    if kind == "binary":
        return _binary(column, where)
    if kind == "regression":
        values = to_float(column, where)
        bad = first(np.isinf(values))
        if bad is not None:
            raise DataError(f"{where}: regression label {values[bad]} at row {bad + 1} is not finite")
        return values.astype(np.float32)
    return _class_values(column, where, text_format)


def _binary(column: Column, where: str) -> np.ndarray:
    absent = missing(column)
    if not is_text(column):
        values = to_float(column, where)
        bad = first(~absent & (values != 0) & (values != 1))
    else:
        text = pc.utf8_lower(pc.utf8_trim_whitespace(as_text(column)))
        values = np.full(len(text), np.nan)
        for word, number in BINARY_TEXT.items():
            values[np.asarray(pc.fill_null(pc.equal(text, word), False).to_numpy(zero_copy_only=False))] = (
                number
            )
        bad = first(~absent & np.isnan(values))
    if bad is not None:
        raise DataError(
            f"{where}: binary label {value_at(column, bad)!r} at row {bad + 1} is not 0 or 1; "
            "accepted: 0, 1, true, false (any case), a boolean, or an empty cell for a missing label"
        )
    return np.where(absent, np.nan, values).astype(np.float32)


def _class_values(column: Column, where: str, text_format: bool) -> pa.ChunkedArray:
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_integer(kind):
        return chunked(pc.cast(column, pa.int64()))
    if pa.types.is_floating(kind):
        values = to_float(column, where)
        bad = first(~np.isnan(values) & (values != np.round(values)))
        if bad is not None:
            raise DataError(
                f"{where}: class label {values[bad]} at row {bad + 1} is not a whole number or text"
            )
        whole = np.where(np.isnan(values), 0, values).astype(np.int64)
        return pa.chunked_array([pa.array(whole, mask=np.isnan(values))])
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind)):
        raise DataError(f"{where}: holds {kind} values, not class labels (text or whole numbers)")
    text = as_text(column)
    if text_format and pa.types.is_string(kind):
        try:
            return chunked(pc.cast(text, pa.int64()))
        except pa.ArrowInvalid:
            pass
    return text


def fit_classes(values: pa.ChunkedArray, where: str) -> Classes:
    """The sorted distinct values of the train split's labels; at least two."""
    classes = sorted(pc.drop_null(pc.unique(values)).to_pylist())
    if not classes:
        raise DataError(f"{where}, split 'train': no labelled sample in the split")
    if len(classes) == 1:
        raise DataError(
            f"{where}, split 'train': one class ({classes[0]!r}); a classification task needs at least 2"
        )
    return classes


def take(labels: Labels, rows: np.ndarray | None) -> Labels:
    if rows is None:
        return labels
    return labels[rows] if isinstance(labels, np.ndarray) else labels.take(pa.array(rows))


def encode_labels(
    labels: Labels, kind: str, classes: Sequence[str | int] | None, rows: np.ndarray | None, where: str
) -> tuple[Tensor, Tensor]:
    """(targets, mask) of one split: binary float [n], regression float [n, 1], classification int64 [n].

    ``rows``: the split's 0-based rows of the file (None: all), for row numbers in errors.
    """
    values = take(labels, rows)
    if isinstance(values, np.ndarray):
        labelled = ~np.isnan(values)
        target = torch.from_numpy(np.where(labelled, values, 0).astype(np.float32))
        return (target if kind == "binary" else target.unsqueeze(1)), torch.from_numpy(labelled)
    assert classes is not None
    known = pa.array([str(c) for c in classes], pa.string())
    codes = pc.index_in(as_text(values), value_set=known)
    labelled = ~missing(values)
    unseen = first(labelled & missing(codes))
    if unseen is not None:
        shown = ", ".join(repr(c) for c in classes)
        raise DataError(
            f"{where}: class {value_at(values, unseen)!r} at row {row_number(unseen, rows)} is not a class "
            f"of the train split; train classes: {shown}"
        )
    target = np.asarray(pc.fill_null(codes, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    return torch.from_numpy(target), torch.from_numpy(labelled)
