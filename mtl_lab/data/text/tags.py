"""Word tags of ``token_classification`` tasks: the tag vocabulary fitted on train, and one split's tags
encoded onto its tokens.

The vocabulary is the distinct tags of the train rows, sorted, with ``O`` (outside) first when present;
tag id = position. A tag of another split that is not in it is an error naming file, column, row and tag.
A tag list whose length is not the row's word count is an error naming the row. Encoded onto the tokens
(:func:`align_tags`), a word's tag sits at its FIRST sub-token; every other token (later sub-tokens,
special tokens, words cut by truncation) and every word of a row without tags is unlabelled (-1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtl_lab.data.table.values import row_number
from mtl_lab.data.text.source import Items
from mtl_lab.data.text.tokenize import Tokenized, first_subtokens, token_rows
from mtl_lab.errors import DataError

OUTSIDE = "O"
#: The value of an unlabelled token in an aligned tag array.
UNLABELLED = -1


def fit_tags(rows: Sequence[Items | None], where: str) -> list[str]:
    """The sorted distinct tags of the train rows, ``O`` first (see the module docstring)."""
    seen = {tag for row in rows if row is not None for tag in row if tag is not None}
    if not seen:
        raise DataError(f"{where}, split 'train': no labelled sample in the split")
    return sorted(seen, key=lambda tag: (tag != OUTSIDE, tag))


def word_tag_ids(
    tags: Sequence[Items | None],
    word_counts: Sequence[int],
    vocabulary: Sequence[str],
    rows: np.ndarray | None,
    where: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(tag id of every word of every row, flat [words]; each row's first word's index, [n + 1]).

    ``rows``: the split's 0-based rows of the file (None: all), for row numbers in errors."""
    index = {tag: i for i, tag in enumerate(vocabulary)}
    counts = np.asarray(word_counts, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ids = np.full(int(starts[-1]), UNLABELLED, dtype=np.int64)
    for position, row in enumerate(tags):
        if row is None:
            continue
        if len(row) != counts[position]:
            raise DataError(
                f"{where}, row {row_number(position, rows)}: {len(row)} tags for {counts[position]} words; "
                "a tag list needs one tag per word"
            )
        for word, tag in enumerate(row):
            if tag is None:
                continue
            tag_id = index.get(tag)
            if tag_id is None:
                raise DataError(
                    f"{where}, row {row_number(position, rows)}: tag {tag!r} is not a tag of the train "
                    f"split; train tags: {', '.join(vocabulary)}"
                )
            ids[starts[position] + word] = tag_id
    return ids, starts


def align_tags(tokens: Tokenized, word_ids: np.ndarray, word_starts: np.ndarray) -> np.ndarray:
    """Int32 [tokens]: each token's tag id at a word's first sub-token, else -1 (module docstring)."""
    aligned = np.full(len(tokens.ids), UNLABELLED, dtype=np.int32)
    first = first_subtokens(tokens)
    rows = token_rows(tokens)[first]
    aligned[first] = word_ids[word_starts[rows] + tokens.word_ids[first]]
    return aligned


def labelled_rows(aligned: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Bool [n]: the rows with at least one labelled token."""
    counts = np.concatenate([[0], np.cumsum(aligned != UNLABELLED)])
    return (counts[offsets[1:]] - counts[offsets[:-1]]) > 0
