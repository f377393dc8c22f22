"""Small text files and a tiny tokenizer for the data=text tests (nothing is downloaded)."""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtl_lab.data.text import TextDataModule
from mtl_lab.data.text.example_file import write_tokenizer

#: Sentence task and token task on the columns of :func:`ner_rows`.
TASKS = {
    "sentiment": {"column": "label", "kind": "classification"},
    "ner": {"column": "tags", "kind": "token_classification"},
}
SENTENCES = [
    (["john", "lives", "in", "paris"], ["B-PER", "O", "O", "B-LOC"]),
    (["mary", "visited", "new", "york"], ["B-PER", "O", "B-LOC", "I-LOC"]),
    (["the", "movie", "was", "good"], ["O", "O", "O", "O"]),
    (["anna", "loves", "london", "and", "the", "unbelievable", "film"], ["B-PER", "O", "B-LOC", "O", "O", "O", "O"]),
]  # fmt: skip


@functools.cache
def tiny_tokenizer() -> str:
    """The directory of the example's tiny WordPiece tokenizer (``unbelievable`` = 3 sub-tokens),
    written once per test process in a temporary directory removed at exit."""
    directory = Path(tempfile.mkdtemp(prefix="mtl_lab_tokenizer_"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return str(write_tokenizer(directory))


def ner_rows(n: int = 20) -> list[dict[str, Any]]:
    """Rows with ``text``, ``tokens``, ``tags``, ``label`` (pos/neg) and ``fold`` (8/1/1 of every 10)."""
    folds = ["train"] * 8 + ["val", "test"]
    rows = []
    for i in range(n):
        words, tags = SENTENCES[i % len(SENTENCES)]
        label = "pos" if i % 3 else "neg"
        row = {"text": " ".join(words), "tokens": words, "tags": tags, "label": label, "fold": folds[i % 10]}
        rows.append(row)
    return rows


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(dict(r)) + "\n" for r in rows))
    return path


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], delimiter: str = ",") -> Path:
    """Lists written as whitespace-separated items (other cells as they are; None empty)."""
    header = list(rows[0])

    def cell(value: Any) -> str:
        if value is None:
            return ""
        return " ".join(value) if isinstance(value, list) else str(value)

    lines = [delimiter.join(header), *(delimiter.join(cell(r[c]) for c in header) for r in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def text_data(path: Path | None, **extra: Any) -> TextDataModule:
    """A TextDataModule on ``path`` split by ``fold``, both tasks, words from ``tokens``."""
    kwargs: dict[str, Any] = {
        "path": None if path is None else str(path),
        "tokens_column": "tokens",
        "tasks": TASKS,
        "tokenizer": tiny_tokenizer(),
        "split_column": "fold",
        "batch_size": 4,
        **extra,
    }
    return TextDataModule(**kwargs)
