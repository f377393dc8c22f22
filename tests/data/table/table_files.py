"""Small table files for the data=table tests, written in any of the four formats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq


def write_text(path: Path, header: str, rows: Sequence[str]) -> Path:
    """A CSV/TSV written line by line (empty cells stay empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def write_table(path: Path, columns: Mapping[str, Sequence[Any]]) -> Path:
    """``columns`` (None = missing) written in the format of ``path``'s extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({name: pa.array(list(values)) for name, values in columns.items()})
    suffix = path.suffix
    if suffix == ".parquet":
        pq.write_table(table, path)
    elif suffix == ".jsonl":
        records = table.to_pylist()
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:
        delimiter = "\t" if suffix == ".tsv" else ","
        options = pa_csv.WriteOptions(delimiter=delimiter, quoting_style="none")
        pa_csv.write_csv(table, path, write_options=options)
    return path


def customers(n: int = 40) -> dict[str, list[Any]]:
    """A small table: 80/10/10 train/val/test by ``fold`` (every 10 rows: 8 train, 1 val, 1 test),
    numeric ``age``/``income``, categorical ``region``, labels ``churned`` (binary), ``segment`` (text
    classes) and ``spend`` (regression); every label missing on some rows, but each split labelled."""
    folds = ["train"] * 8 + ["val", "test"]
    return {
        "age": [None if i == 3 else 20 + i for i in range(n)],
        "income": [1000.0 * (i % 7) for i in range(n)],
        "region": [["north", "south", "east"][i % 3] if i != 4 else None for i in range(n)],
        "churned": [None if i % 5 == 1 else i % 2 == 0 for i in range(n)],
        "segment": [None if i % 6 == 5 else ["b", "a", "c"][i % 3] for i in range(n)],
        "spend": [None if i % 4 == 2 else i * 0.5 for i in range(n)],
        "fold": [folds[i % 10] for i in range(n)],
        "unused": ["x"] * n,
    }


FEATURES = {"numeric": ["age", "income"], "categorical": ["region"]}
TASKS = {
    "churn": {"column": "churned", "kind": "binary"},
    "segment": {"column": "segment", "kind": "classification"},
    "spend": {"column": "spend", "kind": "regression"},
}


def table_kwargs(path: Path, **extra: Any) -> dict[str, Any]:
    """Build keywords of a TableDataModule on ``path`` split by ``fold``."""
    return {"path": str(path), "features": FEATURES, "tasks": TASKS, "split_column": "fold", **extra}
