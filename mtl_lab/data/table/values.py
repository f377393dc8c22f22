"""Column conversions shared by features and labels: Arrow columns to NumPy numbers or to text, with
missing cells found without per-row Python objects, and the 1-based file row of a bad cell.

A cell is missing when it is null, NaN (float columns) or an empty string (text columns). Row numbers
in errors are 1-based data rows of the file (1 = the first row after a CSV/TSV header), whatever split
the row ended up in: ``rows`` maps positions of a (split's) column back to 0-based rows of the file.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtl_lab.errors import DataError

Column = pa.ChunkedArray | pa.Array


def is_text(column: Column) -> bool:
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def chunked(values: Column) -> pa.ChunkedArray:
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def _missing_cells(column: Column) -> pa.ChunkedArray:
    """Boolean column (the layout of ``column``): null, NaN or empty text."""
    absent = pc.is_null(column, nan_is_null=True)
    if is_text(column):
        empty = pc.fill_null(pc.equal(pc.cast(column, pa.string()), ""), False)
        absent = pc.or_kleene(absent, empty)
    return chunked(absent)


def as_text(column: Column) -> pa.ChunkedArray:
    """The column as strings (``12.0`` -> ``"12"``, booleans ``"true"``/``"false"``); missing cells null."""
    return pa.chunked_array([_text_chunk(chunk) for chunk in chunked(column).chunks], pa.string())


def _text_chunk(chunk: pa.Array) -> pa.Array:
    text = pc.cast(chunk, pa.string())
    absent = pc.or_kleene(pc.is_null(chunk, nan_is_null=True), pc.fill_null(pc.equal(text, ""), False))
    if (pc.sum(absent).as_py() or 0) == text.null_count:
        return text  # no NaN or empty text to turn into nulls
    # pyarrow's if_else builds invalid offsets from a sliced string array (offset > 0): compact it first
    return pc.if_else(absent, pa.scalar(None, pa.string()), pa.concat_arrays([text]))


def missing(column: Column) -> np.ndarray:
    """Boolean array: which cells are missing (null, NaN, empty text)."""
    return _numpy_bool(_missing_cells(column))


def _numpy_bool(values: Column) -> np.ndarray:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def row_number(position: int, rows: np.ndarray | None) -> int:
    """1-based file row of ``position`` in a column whose file rows are ``rows`` (None: the whole file)."""
    return int(rows[position] if rows is not None else position) + 1


def first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def value_at(column: Column, position: int) -> object:
    return column[position].as_py()


def to_float(column: Column, where: str, rows: np.ndarray | None = None) -> np.ndarray:
    """The column as float64, NaN where missing; a value that is not a number raises naming its row.

    Numbers and booleans convert directly; text is parsed by Arrow (``"2.5"``, ``"1e3"``).
    """
    kind = column.type
    types = pa.types
    if types.is_integer(kind) or types.is_floating(kind) or types.is_boolean(kind) or types.is_decimal(kind):
        return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    if types.is_null(kind):  # every cell empty (a JSONL key that is always null)
        return np.full(len(column), np.nan)
    if not is_text(column):
        raise DataError(f"{where}: holds {kind} values, not numbers")
    text = as_text(column)
    try:
        return np.asarray(pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    except pa.ArrowInvalid:
        bad = _first_unparsable(text)
    raise DataError(f"{where}: value {value_at(text, bad)!r} at row {row_number(bad, rows)} is not a number")


def _first_unparsable(text: pa.ChunkedArray) -> int:
    """Position of the first cell Arrow cannot parse as a number (bisection: log2(n) vectorised casts)."""
    low, high = 0, len(text)  # the first bad cell lies in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(text.slice(low, middle - low), pa.float64())
            low = middle
        except pa.ArrowInvalid:
            high = middle
    return low
