"""One file of ``data=text`` read into what tokenization and labels need: the text of every row (raw
text, or its list of words when ``tokens_column`` is given), each sentence task's labels parsed as in
``data=table`` (:mod:`mtl_lab.data.table.labels`), each token task's tag lists, and the ``split_column``.

List cells (words, tags): JSON arrays in ``.jsonl`` and list columns in ``.parquet``; in ``.csv``/``.tsv``
a cell holding a JSON array (``["B-PER", "O"]``) or whitespace-separated items (``B-PER O``). Items are
read as text. A row without text (or without its word list) is an error naming file, column and row; a
row without a tag list is unlabelled for that task; a null tag inside a list leaves that word unlabelled.
Row numbers are 1-based data rows of the file, as in ``data=table``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtl_lab.data.table.config import TaskColumn
from mtl_lab.data.table.labels import Labels, parse_labels, take
from mtl_lab.data.table.reader import TEXT_FORMATS, read_columns, table_format
from mtl_lab.data.table.source import task_where
from mtl_lab.data.table.values import is_text
from mtl_lab.data.text.config import TOKEN_KIND
from mtl_lab.errors import DataError

#: A row's words or tags (None: a missing tag list, or a missing tag inside one).
Items = list[str | None]


@dataclass
class TextFile:
    """The needed columns of one file (see the module docstring)."""

    path: Path
    n_rows: int
    texts: list[str] | None  # raw text per row (no tokens_column)
    words: list[list[str]] | None  # words per row (tokens_column)
    labels: dict[str, Labels]  # sentence tasks
    tags: dict[str, list[Items | None]]  # token tasks: tags per row, None where the row has none
    split_values: pa.ChunkedArray | None

    def inputs(self, rows: np.ndarray | None) -> list[str] | list[list[str]]:
        """The rows' texts (or word lists) in order (``rows``: 0-based rows of the file; None: all)."""
        values = self.texts if self.texts is not None else self.words
        assert values is not None
        return list(values) if rows is None else [values[i] for i in rows]

    def labels_of(self, task: str, rows: np.ndarray | None) -> Labels:
        return take(self.labels[task], rows)

    def tags_of(self, task: str, rows: np.ndarray | None) -> list[Items | None]:
        tags = self.tags[task]
        return list(tags) if rows is None else [tags[i] for i in rows]


def read_text_file(
    path: Path,
    key: str,
    text_column: str,
    tokens_column: str | None,
    tasks: Sequence[TaskColumn],
    split_column: str | None,
) -> TextFile:
    """Read and convert the columns ``data=text`` needs from ``path`` (``key`` names it in errors)."""
    source = tokens_column if tokens_column is not None else text_column
    source_key = "data.tokens_column" if tokens_column is not None else "data.text_column"
    wanted = {source: source_key}
    wanted |= {t.column: f"data.tasks.{t.task}.column" for t in tasks}
    if split_column is not None:
        wanted[split_column] = "data.split_column"
    lists = [t.column for t in tasks if t.kind == TOKEN_KIND]
    table = read_columns(path, key, wanted, text_columns=[source, *lists])
    if table.num_rows == 0:
        raise DataError(f"{key}: {path} has no data rows")
    text_format = table_format(path, key) in TEXT_FORMATS
    texts, words = None, None
    if tokens_column is None:
        texts = _texts(table.column(text_column), f"{path}, column {text_column!r}")
    else:
        words = _word_lists(table.column(tokens_column), f"{path}, column {tokens_column!r}")
    labels, tags = {}, {}
    for task in tasks:
        where = task_where(task, path)
        column = table.column(task.column)
        if task.kind == TOKEN_KIND:
            tags[task.task] = read_lists(column, where)
        else:
            labels[task.task] = parse_labels(column, task.kind, where, text_format)
    split_values = table.column(split_column) if split_column is not None else None
    return TextFile(path, table.num_rows, texts, words, labels, tags, split_values)


def _texts(column: pa.ChunkedArray, where: str) -> list[str]:
    if not is_text(column) and not pa.types.is_null(column.type):
        raise DataError(f"{where}: holds {column.type} values, not text")
    text = pc.cast(column, pa.string())
    absent = np.flatnonzero(np.asarray(pc.is_null(text).to_numpy(zero_copy_only=False), dtype=bool))
    if absent.size:
        raise DataError(f"{where}, row {int(absent[0]) + 1}: no text (every row needs one)")
    return text.to_pylist()


def _word_lists(column: pa.ChunkedArray, where: str) -> list[list[str]]:
    rows = read_lists(column, where)
    for position, row in enumerate(rows):
        if row is None:
            raise DataError(f"{where}, row {position + 1}: no list of words (every row needs one)")
        if any(word is None for word in row):
            raise DataError(f"{where}, row {position + 1}: a word of the list is missing (null)")
    return rows  # type: ignore[return-value]


def read_lists(column: pa.ChunkedArray, where: str) -> list[Items | None]:
    """Every row's list of items as text (None: a missing cell); see the module docstring."""
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return [None if row is None else [_item(v) for v in row] for row in column.to_pylist()]
    if pa.types.is_null(kind):
        return [None] * len(column)
    if not is_text(column):
        raise DataError(f"{where}: holds {kind} values, not lists (JSON arrays or space-separated items)")
    return [_parse_cell(cell, where, position) for position, cell in enumerate(column.to_pylist())]


def _item(value: object) -> str | None:
    return None if value is None else str(value)


def _parse_cell(cell: str | None, where: str, position: int) -> Items | None:
    if cell is None or not cell.strip():
        return None
    if not cell.lstrip().startswith("["):
        return list(cell.split())
    try:
        value = json.loads(cell)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        raise DataError(f"{where}, row {position + 1}: {cell[:40]!r} is not a JSON array of items")
    return [_item(v) for v in value]
