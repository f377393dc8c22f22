"""Reading a table file column-wise with pyarrow: the format comes from the extension.

``.csv`` / ``.tsv`` (header row; types inferred, read with ``include_columns``), ``.parquet`` (read with
``columns=``) and ``.jsonl`` (one JSON object per line; the reader parses every key, the others are then
dropped). Nothing is converted to per-row Python objects. Missing cells of CSV/TSV files: an empty cell
and ``NA``, ``N/A``, ``NaN``, ``nan``, ``null``, ``NULL``, ``None``, in every column type (strings too).

CSV/TSV column types are inferred by pyarrow. Should it fail to convert a row to the type it inferred
(a conversion error: versions that infer from the first block only), the needed columns are read again
as text and converted by the table's own rules, which name the bad row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from mtl_lab.errors import DataError, unknown_choice

#: Extension -> format name.
FORMATS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".jsonl": "jsonl"}
#: Cells of CSV/TSV files read as missing.
NULL_VALUES = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
#: Formats whose column types are inferred from text (an integer-looking class column holds integers).
TEXT_FORMATS = ("csv", "tsv")


def table_format(path: Path, key: str) -> str:
    """The format of ``path`` by its extension; ``key`` names the config key in errors."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise unknown_choice(f"{key} ({path})", suffix or "(none)", FORMATS, "file extension")
    return FORMATS[suffix]


def check_file(path: Path, key: str) -> str:
    """The file's format; errors name ``key`` when the file is missing or its extension unknown."""
    fmt = table_format(path, key)
    if not path.is_file():
        raise DataError(f"{key}: no such file {str(path)!r}")
    return fmt


def _csv_options(fmt: str) -> tuple[pa_csv.ReadOptions, pa_csv.ParseOptions]:
    delimiter = "\t" if fmt == "tsv" else ","
    return pa_csv.ReadOptions(), pa_csv.ParseOptions(delimiter=delimiter)


def _arrow_message(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _column_names(path: Path, fmt: str) -> list[str]:
    if fmt == "parquet":
        return list(pq.read_schema(path).names)
    read, parse = _csv_options(fmt)
    with pa_csv.open_csv(path, read_options=read, parse_options=parse) as reader:
        return list(reader.schema.names)


def check_columns(path: Path, available: Sequence[str], wanted: Mapping[str, str]) -> None:
    """Every column of ``wanted`` (column -> the config key naming it) is in ``available``."""
    for column, key in wanted.items():
        if column not in available:
            raise unknown_choice(f"{key} ({path})", column, available, "column")


def read_columns(
    path: Path, key: str, wanted: Mapping[str, str], text_columns: Sequence[str] = ()
) -> pa.Table:
    """The columns of ``wanted`` (column -> the config key naming it, for errors) of the file at ``path``
    (``key``: the config key naming the file), in that order; ``text_columns`` are read as strings from
    CSV/TSV. Errors: a missing file, an unknown extension, a missing column (the closest one suggested),
    a file pyarrow cannot parse."""
    fmt = check_file(path, key)
    columns = list(wanted)
    try:
        if fmt == "jsonl":
            table = pa_json.read_json(path)
            check_columns(path, table.column_names, wanted)
            return table.select(columns)
        check_columns(path, _column_names(path, fmt), wanted)
        if fmt == "parquet":
            # pre_buffer off: the raw column chunks are not all held in memory beside the decoded table
            return pq.read_table(path, columns=columns, pre_buffer=False).select(columns)
        return _read_csv(path, fmt, columns, text_columns).select(columns)
    except (pa.ArrowException, OSError) as err:
        raise DataError(f"{key}: cannot read {path} as {fmt} ({_arrow_message(err)})") from None


def _read_csv(path: Path, fmt: str, columns: list[str], text_columns: Sequence[str]) -> pa.Table:
    read, parse = _csv_options(fmt)

    def convert(as_text: Sequence[str]) -> pa_csv.ConvertOptions:
        return pa_csv.ConvertOptions(
            include_columns=columns,
            column_types={c: pa.string() for c in as_text},
            null_values=NULL_VALUES,
            strings_can_be_null=True,
        )

    try:
        return pa_csv.read_csv(
            path, read_options=read, parse_options=parse, convert_options=convert(text_columns)
        )
    except pa.ArrowInvalid as err:
        if "conversion error" not in str(err):
            raise
    # a later block did not fit the type inferred from the first one: read as text, convert ourselves
    return pa_csv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert(columns))
