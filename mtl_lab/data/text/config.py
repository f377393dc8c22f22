"""The keys of ``data=text`` checked before any file is read (no tokenizer is loaded here).

``text_column`` (raw text) or ``tokens_column`` (a list of words per row; needed by token tasks);
``tasks``: ``{task: {column, kind, loss}}`` with the sentence kinds of ``data=table`` plus
``token_classification`` (one tag per word); ``tokenizer``: a local directory; ``max_length`` >= 2;
``truncation``: ``warn`` | ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtl_lab.data.table.config import TABLE_KINDS, TaskColumn, parse_task_columns
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.text.pretrained import pretrained_directory

#: The kind of a task with one label per word.
TOKEN_KIND = "token_classification"
#: Task kinds a text file's column can hold: one label per row (as in data=table) or one per word.
TEXT_KINDS = (*TABLE_KINDS, TOKEN_KIND)
TRUNCATION = ("warn", "error")


def parse_text_tasks(
    tasks: Mapping[str, Mapping[str, Any] | None] | None, text_column: str, tokens_column: str | None
) -> list[TaskColumn]:
    """``data.tasks`` checked; a token task needs ``tokens_column`` (the words its tags belong to)."""
    inputs = {text_column: "the text column (data.text_column)"}
    if tokens_column is not None:
        inputs = {tokens_column: "the tokens column (data.tokens_column)"}
    parsed = parse_task_columns(
        tasks,
        TEXT_KINDS,
        inputs,
        "a text column",
        "data.tasks={sentiment: {column: label, kind: classification}}",
    )
    for task in parsed:
        if task.kind == TOKEN_KIND and tokens_column is None:
            raise ConfigError(
                f"data.tasks.{task.task}: a token_classification task needs data.tokens_column, the "
                "column holding each row's list of words (its tags are one per word)"
            )
    return parsed


def check_options(max_length: int, truncation: str, text_column: str, tokens_column: str | None) -> None:
    """``max_length``, ``truncation`` and the column names."""
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
        raise ConfigError(f"data.max_length: must be an integer >= 2, got {max_length!r}")
    if truncation not in TRUNCATION:
        raise unknown_choice("data.truncation", truncation, TRUNCATION, "choice")
    if not isinstance(text_column, str) or not text_column:
        raise ConfigError(f"data.text_column: expected a column name, got {text_column!r}")
    if tokens_column is not None and (not isinstance(tokens_column, str) or not tokens_column):
        raise ConfigError(f"data.tokens_column: expected a column name or null, got {tokens_column!r}")


def check_tokenizer(tokenizer: str | None) -> str:
    """The tokenizer directory, checked to exist with tokenizer files (nothing is loaded)."""
    if tokenizer is None:
        raise ConfigError(
            "data.tokenizer: not set; set encoder.pretrained (a local model directory, which data.tokenizer "
            "follows) or data.tokenizer=<local tokenizer directory>"
        )
    pretrained_directory(tokenizer, "data.tokenizer")
    return str(tokenizer)
