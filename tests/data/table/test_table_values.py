"""Column conversions of data=table: text with missing cells as nulls (also from sliced Arrow chunks, as
Parquet reads give them), missing cells, numbers with the row of the first unparsable cell."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mtl_lab.data.table.values import as_text, missing, to_float
from mtl_lab.errors import DataError


def test_text_turns_empty_strings_and_nan_into_nulls_also_in_sliced_chunks() -> None:
    big = pa.array(["x", "y", "a", "", None, "b"] * 50_000)
    # pyarrow's if_else would build invalid offsets from a chunk that starts inside its buffers
    for column in (big.slice(2), pa.chunked_array([big.slice(0, 7), big.slice(7)])):
        text = as_text(column)
        text.validate(full=True)
        assert text.null_count == 100_000 and len(text) == len(column)
    assert as_text(big.slice(2)).slice(0, 6).to_pylist() == ["a", None, None, "b", "x", "y"]
    assert as_text(pa.array([1.0, float("nan"), None, 12.0, 2.5])).to_pylist() == [
        "1",
        None,
        None,
        "12",
        "2.5",
    ]
    assert as_text(pa.array([True, None, False])).to_pylist() == ["true", None, "false"]
    no_missing = pa.chunked_array([pa.array(["a", "b"])])
    assert as_text(no_missing).to_pylist() == ["a", "b"]


def test_missing_cells_are_null_nan_or_empty_text() -> None:
    assert missing(pa.array([1.0, float("nan"), None, 0.0])).tolist() == [False, True, True, False]
    assert missing(pa.array(["a", "", None, " "])).tolist() == [False, True, True, False]
    assert missing(pa.array([1, None], pa.int64())).tolist() == [False, True]


def test_numbers_from_numbers_booleans_text_and_all_null_columns() -> None:
    assert to_float(pa.array([1, None, 3]), "x").tolist()[::2] == [1.0, 3.0]
    assert np.isnan(to_float(pa.array([1, None, 3]), "x")[1])
    assert to_float(pa.array([True, False]), "x").tolist() == [1.0, 0.0]
    assert to_float(pa.array(["2.5", "1e3", "", None]), "x")[:2].tolist() == [2.5, 1000.0]
    assert np.isnan(to_float(pa.array([None, None]), "x")).all()
    text = pa.array([str(i) for i in range(1000)] + ["12a"] + ["1"] * 500)
    with pytest.raises(DataError, match=r"^feature 'f': value '12a' at row 1001 is not a number$"):
        to_float(text, "feature 'f'")
    with pytest.raises(DataError, match=r"^feature 'f': value '12a' at row 9 is not a number$"):
        to_float(pa.array(["1", "12a"]), "feature 'f'", rows=np.array([3, 8]))
    with pytest.raises(DataError, match=r"^feature 'f': holds binary values, not numbers$"):
        to_float(pa.array([b"a"]), "feature 'f'")
