"""A table file read a few rows at a time, never whole: ``.parquet`` with
:meth:`pyarrow.parquet.ParquetFile.iter_batches`, ``.csv`` / ``.tsv`` with :func:`pyarrow.csv.open_csv`,
``.jsonl`` in chunks of lines, each parsed by :func:`pyarrow.json.read_json`. Only the asked columns are
read from Parquet and CSV/TSV.

Column types: Parquet's are the file's. CSV/TSV: ``text_columns`` are read as text (the caller converts
them by the table's own rules, which name a bad row); the others keep the type pyarrow infers from the
first block (an all-empty column: text), so a later value that does not fit it is an error. JSONL: the
types of each chunk, a key that is always null counts as text, and a column absent from a chunk is all
null; a ``.jsonl`` file's columns are the keys of its first chunk.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from mtl_lab.data.table.reader import NULL_VALUES
from mtl_lab.errors import DataError

#: Bytes of a Parquet file's column chunk read at a time.
PARQUET_BUFFER = 1 << 20
#: Lines of a ``.jsonl`` file parsed at once.
JSONL_CHUNK_LINES = 65536


def _csv_options(fmt: str) -> tuple[pa_csv.ReadOptions, pa_csv.ParseOptions]:
    return pa_csv.ReadOptions(), pa_csv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")


def _arrow_message(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def file_columns(path: Path, fmt: str, key: str) -> list[str]:
    """The column names of the file (of a ``.jsonl`` file: the keys of its first chunk)."""
    try:
        if fmt == "parquet":
            return list(pq.read_schema(path).names)
        if fmt == "jsonl":
            first = next(_jsonl_tables(path), None)
            return [] if first is None else first.column_names
        read, parse = _csv_options(fmt)
        with pa_csv.open_csv(path, read_options=read, parse_options=parse) as reader:
            return list(reader.schema.names)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{key}: cannot read {path} as {fmt} ({_arrow_message(err)})") from None


def count_rows(path: Path, fmt: str, key: str) -> int:
    """The number of data rows, read in batches (Parquet: from its metadata)."""
    if fmt == "parquet":
        with pq.ParquetFile(path) as parquet:
            return int(parquet.metadata.num_rows)
    first = file_columns(path, fmt, key)[:1]
    return sum(batch.num_rows for batch in read_batches(path, fmt, key, first, first))


def read_batches(
    path: Path, fmt: str, key: str, columns: Sequence[str], text_columns: Collection[str], rows: int = 65536
) -> Iterator[pa.Table]:
    """``columns`` of the file, in that order, in consecutive batches of rows (of about ``rows`` rows for
    Parquet and JSONL, of a block for CSV/TSV); ``key`` names the file in errors."""
    try:
        if fmt == "parquet":
            # a buffered stream: a row group's column chunks are not read whole (a file may be one group)
            with pq.ParquetFile(path, buffer_size=PARQUET_BUFFER, pre_buffer=False) as parquet:
                for batch in parquet.iter_batches(batch_size=rows, columns=list(columns)):
                    yield pa.Table.from_batches([batch]).select(list(columns))
        elif fmt == "jsonl":
            for table in _jsonl_tables(path):
                yield _with_columns(table, columns)
        else:
            yield from _csv_tables(path, fmt, columns, text_columns)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{key}: cannot read {path} as {fmt} ({_arrow_message(err)})") from None


def _csv_tables(
    path: Path, fmt: str, columns: Sequence[str], text_columns: Collection[str]
) -> Iterator[pa.Table]:
    read, parse = _csv_options(fmt)
    with pa_csv.open_csv(path, read_options=read, parse_options=parse) as reader:
        inferred = reader.schema
    types = {c: pa.string() for c in columns if c in text_columns or pa.types.is_null(inferred.field(c).type)}
    convert = pa_csv.ConvertOptions(
        include_columns=list(columns),
        column_types=types,
        null_values=NULL_VALUES,
        strings_can_be_null=True,
    )
    with pa_csv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert) as reader:
        for batch in reader:
            yield pa.Table.from_batches([batch]).select(list(columns))


def _jsonl_tables(path: Path) -> Iterator[pa.Table]:
    with open(path, "rb") as file:
        lines: list[bytes] = []
        for line in file:
            if line.strip():
                lines.append(line if line.endswith(b"\n") else line + b"\n")
            if len(lines) == JSONL_CHUNK_LINES:
                yield pa_json.read_json(io.BytesIO(b"".join(lines)))
                lines = []
        if lines:
            yield pa_json.read_json(io.BytesIO(b"".join(lines)))


def _with_columns(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """``columns`` of a JSONL chunk: absent ones all null, always-null ones as text."""
    arrays = []
    for column in columns:
        if column not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, pa.string()))
        elif pa.types.is_null(table.column(column).type):
            arrays.append(table.column(column).cast(pa.string()))
        else:
            arrays.append(table.column(column))
    return pa.table(arrays, names=list(columns))
