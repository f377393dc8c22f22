"""Small table files for the data=table tests, written in any of the four formats."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
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


WIDE_CATEGORIES = (5, 20, 100, 1000, 10000)


def write_wide_table(path: Path, rows: int, seed: int = 0) -> dict[str, Any]:
    """A ``rows`` x 20 Parquet table: numeric x0..x11 (1% missing), categorical c0..c4 (5 to 10,000
    values), labels flag (binary), level (4 classes), amount (regression), each 10% missing, all driven
    by x0; returns data=table's features and tasks for it."""
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    for j in range(12):
        columns[f"x{j}"] = pa.array(rng.normal(size=rows), mask=rng.random(rows) < 0.01)
    for j, size in enumerate(WIDE_CATEGORIES):
        codes = pa.array(rng.integers(0, size, rows).astype(np.int32))
        names = pa.array([f"v{i}" for i in range(size)])
        columns[f"c{j}"] = pa.DictionaryArray.from_arrays(codes, names).cast(pa.string())
    signal = np.asarray(columns["x0"].fill_null(0.0)) + rng.normal(size=rows)
    columns["flag"] = pa.array(signal > 0, mask=rng.random(rows) < 0.1)
    columns["level"] = pa.array(np.digitize(signal, [-1, 0, 1]).astype(np.int64), mask=rng.random(rows) < 0.1)
    columns["amount"] = pa.array(2 * signal, mask=rng.random(rows) < 0.1)
    pq.write_table(pa.table(columns), path)
    return {
        "features": {"numeric": [f"x{j}" for j in range(12)], "categorical": [f"c{j}" for j in range(5)]},
        "tasks": {
            "flag": {"kind": "binary"},
            "level": {"kind": "classification"},
            "amount": {"kind": "regression"},
        },
    }
