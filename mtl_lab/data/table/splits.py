"""Which rows of which file make the ``train``, ``val`` and ``test`` splits of ``data=table``.

Three ways, checked in this order: ``train_path``/``val_path``/``test_path`` (one file per split, every
row of each); ``split_column`` (a column of ``path`` whose values are ``train``/``val``/``test``); or
``split`` fractions of ``path``'s rows, drawn at random from ``seed`` (a permutation by NumPy's PCG64).
Rows keep the file's order within each split. Shared by ``data=table`` and ``data=text``:
:func:`read_per_split` reads each distinct file once, :func:`split_rows` gives each split's rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow.compute as pc

from mtl_lab.data.table.values import Column, as_text, first, row_number, value_at
from mtl_lab.errors import ConfigError, DataError, unknown_choice

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}
File = TypeVar("File")


@dataclass(frozen=True)
class Sources:
    """The files to read: one ``path`` holding every split, or one file per split."""

    files: dict[str, Path]  # split -> file (the same file for every split when one path is given)
    keys: dict[str, str]  # split -> the config key naming its file
    single: bool  # one file (data.path) holding every split

    def describe(self) -> str:
        """The file(s) read, for messages."""
        return str(self.files["train"]) if self.single else ", ".join(str(self.files[s]) for s in SPLITS)


def resolve_sources(
    path: str | None, train_path: str | None, val_path: str | None, test_path: str | None
) -> Sources:
    """``path`` alone, or all three of ``train_path``/``val_path``/``test_path``."""
    per_split = {"train": train_path, "val": val_path, "test": test_path}
    given = [s for s, p in per_split.items() if p is not None]
    if path is not None and given:
        raise ConfigError(
            f"data.path and data.{given[0]}_path: give either one file holding every split (data.path) "
            "or one file per split (data.train_path, data.val_path, data.test_path), not both"
        )
    if path is not None:
        return Sources({s: Path(path) for s in SPLITS}, {s: "data.path" for s in SPLITS}, single=True)
    if not given:
        raise ConfigError(
            "data.path: no data file given; set data.path=<file> (.csv, .jsonl, .parquet, .tsv) or "
            "data.train_path, data.val_path and data.test_path"
        )
    for split in SPLITS:
        if per_split[split] is None:
            raise ConfigError(
                f"data.{split}_path: missing; with data.{given[0]}_path every split needs its own file "
                "(or give one data.path)"
            )
    files = {s: Path(str(per_split[s])) for s in SPLITS}
    return Sources(files, {s: f"data.{s}_path" for s in SPLITS}, single=False)


def check_fractions(fractions: Mapping[str, float] | None) -> dict[str, float]:
    """``data.split``: a non-negative fraction for each of train/val/test, summing to 1."""
    fractions = dict(DEFAULT_FRACTIONS if fractions is None else fractions)
    for split in fractions:
        if split not in SPLITS:
            raise unknown_choice("data.split", split, SPLITS, "split")
    for split in SPLITS:
        if split not in fractions:
            raise ConfigError(f"data.split.{split}: missing; give a fraction for each of train, val, test")
        value = fractions[split]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"data.split.{split}: must be a fraction >= 0, got {value!r}")
    total = sum(float(fractions[s]) for s in SPLITS)
    if abs(total - 1.0) > 1e-6:
        described = ", ".join(f"{s}={fractions[s]}" for s in SPLITS)
        raise ConfigError(f"data.split: fractions must sum to 1, got {described} (sum {total:g})")
    return {s: float(fractions[s]) for s in SPLITS}


def random_split(n_rows: int, fractions: Mapping[str, float], seed: int, path: Path) -> dict[str, np.ndarray]:
    """0-based rows of each split: a seeded permutation cut by the fractions (rounded; test the rest)."""
    order = np.random.default_rng(seed).permutation(n_rows)
    n_train = round(fractions["train"] * n_rows)
    n_val = min(round(fractions["val"] * n_rows), n_rows - n_train)
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, n_rows)}
    rows = {s: np.sort(order[a:b]) for s, (a, b) in bounds.items()}
    for split in SPLITS:
        if rows[split].size == 0:
            described = ", ".join(f"{s}={fractions[s]:g}" for s in SPLITS)
            raise DataError(
                f"data.split: split {split!r} of {path} is empty ({n_rows} rows, fractions {described})"
            )
    return rows


def split_by_column(column: Column, name: str, path: Path) -> dict[str, np.ndarray]:
    """0-based rows of each split as column ``name`` of ``path`` says; every row must name a split."""
    text = as_text(column)
    rows: dict[str, np.ndarray] = {}
    assigned = np.zeros(len(text), dtype=bool)
    for split in SPLITS:
        hit = np.asarray(
            pc.fill_null(pc.equal(text, split), False).to_numpy(zero_copy_only=False), dtype=bool
        )
        rows[split] = np.flatnonzero(hit)
        assigned |= hit
    bad = first(~assigned)
    if bad is not None:
        value = value_at(text, bad)
        where = f"data.split_column ({path}, column {name!r}, row {row_number(bad, None)})"
        if value is None:
            raise DataError(f"{where}: no split given; each row needs one of: {', '.join(SPLITS)}")
        raise unknown_choice(where, value, SPLITS, "split")
    for split in SPLITS:
        if rows[split].size == 0:
            raise DataError(f"data.split_column: no row of {path} has split {split!r} in column {name!r}")
    return rows


def check_split_column(split_column: str | None, sources: Sources, used: Iterable[str], what: str) -> None:
    """``data.split_column``: only with one file, and not a column in ``used`` (``what`` names them)."""
    if split_column is not None and not sources.single:
        raise ConfigError("data.split_column: only with one file (data.path); each split has its own file")
    if split_column is not None and split_column in set(used):
        raise ConfigError(f"data.split_column: {split_column!r} is also a {what} column")


def read_per_split(sources: Sources, read: Callable[[Path, str], File]) -> dict[str, File]:
    """Each split's file read by ``read(path, key)``, a file shared by several splits read once."""
    read_files: dict[Path, File] = {}
    for split in SPLITS:
        path = sources.files[split]
        if path not in read_files:
            read_files[path] = read(path, sources.keys[split])
    return {s: read_files[sources.files[s]] for s in SPLITS}


def split_rows(
    sources: Sources,
    n_rows: int,
    split_values: Column | None,
    split_column: str | None,
    fractions: Mapping[str, float],
    seed: int,
) -> dict[str, np.ndarray | None]:
    """0-based rows of the file of each split: None (every row) with one file per split, else by
    ``split_values`` (the read ``split_column``) when given, else a seeded random split."""
    if not sources.single:
        return {s: None for s in SPLITS}
    path = sources.files["train"]
    if split_values is not None:
        return dict(split_by_column(split_values, str(split_column), path))
    return dict(random_split(n_rows, fractions, seed, path))
