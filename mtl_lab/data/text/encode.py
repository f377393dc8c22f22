"""One split of ``data=text`` encoded: its rows tokenized once (:mod:`~mtl_lab.data.text.tokenize`),
sentence labels encoded as in ``data=table`` and word tags aligned onto the tokens
(:mod:`~mtl_lab.data.text.tags`), each word's first sub-token kept for rows of word lists
(:mod:`~mtl_lab.data.text.words`); and the report of rows cut by truncation.

Truncation (``data.truncation``): ``warn`` logs ONE warning line for all splits with the number of cut
rows in each; ``error`` fails naming the first cut row (file, split, row).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mtl_lab.data.table.config import TaskColumn
from mtl_lab.data.table.labels import Classes, encode_labels
from mtl_lab.data.table.source import task_where
from mtl_lab.data.table.values import row_number
from mtl_lab.data.text.config import TOKEN_KIND
from mtl_lab.data.text.dataset import TextSplit
from mtl_lab.data.text.source import TextFile
from mtl_lab.data.text.tags import align_tags, word_tag_ids
from mtl_lab.data.text.tokenize import tokenize
from mtl_lab.data.text.words import word_starts
from mtl_lab.errors import DataError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

log = logging.getLogger(__name__)


@dataclass
class Truncation:
    """The rows of one split cut by truncation (``cut``: bool per row of the split)."""

    split: str
    path: Path
    rows: np.ndarray | None  # the split's 0-based rows of the file (None: all)
    cut: np.ndarray


def encode_split(
    file: TextFile,
    rows: np.ndarray | None,
    split: str,
    tasks: Mapping[str, TaskColumn],
    vocabularies: Mapping[str, Classes],
    tokenizer: PreTrainedTokenizerFast,
    max_length: int,
    require_labels: bool = True,
) -> tuple[TextSplit, Truncation]:
    """The split of ``file`` made of ``rows`` (None: every row) with the targets of ``tasks``
    (``vocabularies``: each classification task's classes and each token task's tags); a task without a
    labelled row is an error unless ``require_labels`` is False (prediction)."""
    inputs = file.inputs(rows)
    split_words = file.words is not None
    tokens = tokenize(tokenizer, inputs, split_words, max_length)
    encoded = TextSplit(ids=tokens.ids, offsets=tokens.offsets)
    counts = [len(words) for words in inputs] if split_words else []
    if split_words:
        encoded.words = word_starts(tokens, counts)
    for task, column in tasks.items():
        where = f"{task_where(column, file.path)}, split {split!r}"
        if column.kind == TOKEN_KIND:
            word_ids, starts = word_tag_ids(
                file.tags_of(task, rows), counts, list(map(str, vocabularies[task])), rows, where
            )
            encoded.token_tags[task] = align_tags(tokens, word_ids, starts)
        else:
            encoded.targets[task], encoded.masks[task] = encode_labels(
                file.labels[task], column.kind, vocabularies.get(task), rows, where
            )
        if require_labels and encoded.labelled_count(task) == 0:
            raise DataError(f"{where}: no labelled sample in the split")
    return encoded, Truncation(split, file.path, rows, tokens.truncated)


def report_truncation(truncations: list[Truncation], mode: str, max_length: int, source: str) -> None:
    """Fail on the first cut row (``mode`` ``error``) or log one line counting them (``warn``)."""
    if mode == "error":
        for part in truncations:
            cut = np.flatnonzero(part.cut)
            if cut.size:
                raise DataError(
                    f"data.truncation=error: {part.path}, split {part.split!r}, row "
                    f"{row_number(int(cut[0]), part.rows)}: longer than data.max_length={max_length} tokens "
                    "(raise data.max_length, or data.truncation=warn to cut such rows)"
                )
        return
    if any(part.cut.any() for part in truncations):
        described = ", ".join(f"{int(p.cut.sum())} of {len(p.cut)} {p.split}" for p in truncations)
        log.warning(
            "data.text (%s): rows longer than data.max_length=%d tokens were truncated: %s "
            "(data.truncation=error fails instead)",
            source,
            max_length,
            described,
        )
