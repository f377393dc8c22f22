"""Which rows of which file mtl-predict predicts for a text run (a
:class:`~mtl_lab.data.text.TextDataModule`: ``data=text``, ``data=reviews``), read and encoded as the run's
datamodule encodes a split.

The run's datamodule is built as mtl-eval builds it (from the run's own files and saved vocabularies);
``data.path`` / ``data.<split>_path`` given to mtl-predict are kept out of its config
(:func:`text_file_overrides`) and name the file to predict instead. File and rows are then chosen as for
a table (:func:`mtl_lab.prediction.table_rows.predicted_file`): a new ``data.path``: every row (only
``split``'s when it has the run's ``split_column``); otherwise ``split``'s file (``data.<split>_path``:
every row) or ``split``'s rows of the run's one file (its split column, or the run's seeded random split).

The rows are read whole and tokenized once, as ``data=text`` reads and tokenizes a split (the run's
tokenizer, ``max_length`` and ``truncation``). The text (or word-list) column must be in the file; a
task's label or tag column need not be: the tasks with a labelled row are scored. ``carry`` columns are
passed through unchanged (from CSV/TSV with the types pyarrow infers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig

from mtl_lab.data.datamodule import DATAMODULES
from mtl_lab.data.table.reader import read_columns
from mtl_lab.data.text import TextDataModule
from mtl_lab.data.text.dataset import TextSplit
from mtl_lab.data.text.encode import encode_split, report_truncation
from mtl_lab.data.text.source import TextFile, read_text_file
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.evaluation import load_run_config
from mtl_lab.prediction.table_rows import PredictedFile, RowSelection, predicted_file

#: The overrides that name the file a text run predicts.
TEXT_FILE_KEYS = ("data.path", "data.train_path", "data.val_path", "data.test_path")


def is_text_run(cfg: DictConfig) -> bool:
    """Whether the run's data is a registered :class:`TextDataModule` (or a subclass)."""
    data = cfg.get("data")
    name = data.get("name") if isinstance(data, DictConfig) else None
    if not isinstance(name, str) or name not in DATAMODULES:
        return False
    builder = DATAMODULES.resolve(name)
    return isinstance(builder, type) and issubclass(builder, TextDataModule)


def text_file_overrides(
    run_dir: str | Path, overrides: Sequence[str]
) -> tuple[dict[str, str | None], list[str]]:
    """For a text run: its :data:`TEXT_FILE_KEYS` overrides (``+`` or not; key without ``data.`` ->
    value) and the other overrides; for any other run: nothing and ``overrides``."""
    if not is_text_run(load_run_config(run_dir)):
        return {}, list(overrides)
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as err:
        raise ConfigError(f"cannot parse override: {str(err).splitlines()[0]}") from None
    files: dict[str, str | None] = {}
    others = []
    for override in parsed:
        if override.key_or_group in TEXT_FILE_KEYS:
            value = override.value()
            files[override.key_or_group.removeprefix("data.")] = None if value is None else str(value)
        else:
            others.append(override.input_line)
    return files, others


@dataclass
class TextRows:
    """The encoded rows (targets of the ``labelled_tasks`` only), their ``carry`` columns (None: none
    asked), which rows they are (``description``) and the file they come from."""

    split: TextSplit
    labelled_tasks: tuple[str, ...]
    carry: pa.Table | None
    description: str
    path: Path


def file_node(data: TextDataModule, files: Mapping[str, str | None]) -> dict[str, Any]:
    """The run's file keys and split settings (what ``data=table`` keys them as), ``files`` in place."""
    sources = data.sources
    if sources.single:
        own = {"path": str(sources.files["train"])}
    else:
        own = {f"{split}_path": str(path) for split, path in sources.files.items()}
    node: dict[str, Any] = {"path": None, "train_path": None, "val_path": None, "test_path": None}
    node |= own | dict(files)
    return node | {"split": data.fractions, "split_column": data.split_column, "seed": data.seed}


def _selected(selection: RowSelection, text: TextFile) -> np.ndarray | None:
    """The 0-based rows of the file to predict (None: all)."""
    if selection.column is not None:
        assert text.split_values is not None
        return selection.positions(0, pa.table({selection.column: text.split_values}))
    return selection.rows


def _carried(file: PredictedFile, carry: Sequence[str], rows: np.ndarray | None) -> pa.Table | None:
    if not carry:
        return None
    table = read_columns(file.path, file.key, dict.fromkeys(carry, "carry"))
    return table if rows is None else table.take(pa.array(rows, pa.int64()))


def read_text_rows(
    data: TextDataModule, split: str, files: Mapping[str, str | None], carry: Sequence[str]
) -> TextRows:
    """The rows to predict, encoded (see the module docstring); ``files``: :func:`text_file_overrides`."""
    file = predicted_file(file_node(data, files), split, "path" in files)
    for column in carry:
        if column not in file.columns:
            raise unknown_choice(f"carry ({file.path})", column, file.columns, "column")
    tasks = {t: data.task_columns[t] for t in data.tasks if data.task_columns[t].column in file.columns}
    text = read_text_file(
        file.path, file.key, data.text_column, data.tokens_column, list(tasks.values()), file.selection.column
    )
    rows = _selected(file.selection, text)
    encoded, truncation = encode_split(
        text, rows, split, tasks, data.vocabularies, data.tokenizer, data.max_length, require_labels=False
    )
    report_truncation([truncation], data.truncation, data.max_length, str(file.path))
    labelled = tuple(task for task in tasks if encoded.labelled_count(task) > 0)
    for task in set(tasks) - set(labelled):
        for values in (encoded.targets, encoded.masks, encoded.token_tags):
            values.pop(task, None)
    description = file.selection.description
    return TextRows(encoded, labelled, _carried(file, carry, rows), description, file.path)
