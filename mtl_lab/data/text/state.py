"""The tasks of ``data=text`` from their fitted vocabularies, and the preprocessing state that saves them.

``preprocessing.json`` of a text run: ``{"format": "mtl_lab.text/1", "tasks": {task: {"column", "kind",
"classes" (classification) | "tags" (token_classification)}}}``, lists in index order. Loading it back
checks that every task has the same column and kind, and makes the saved lists the tasks' classes and
tags (a tag maps to the same id as in training).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mtl_lab.data.table.config import TaskColumn, saved_task
from mtl_lab.data.table.labels import Classes
from mtl_lab.data.text.config import TOKEN_KIND
from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec

#: ``format`` of a text run's ``preprocessing.json``.
STATE_FORMAT = "mtl_lab.text/1"


def _list_key(kind: str) -> str | None:
    return "tags" if kind == TOKEN_KIND else "classes" if kind == "classification" else None


def declare_text_tasks(
    columns: Mapping[str, TaskColumn], vocabularies: Mapping[str, Classes]
) -> dict[str, TaskSpec]:
    """A :class:`TaskSpec` per task: classes / tags as class names and outputs, else one output."""
    specs = {}
    for task, column in columns.items():
        vocabulary = vocabularies.get(task)
        names = tuple(str(c) for c in vocabulary) if vocabulary is not None else None
        size = len(vocabulary) if vocabulary is not None else 1
        specs[task] = TaskSpec(task, column.kind, size, loss=column.loss, class_names=names)
    return specs


def text_state(columns: Mapping[str, TaskColumn], vocabularies: Mapping[str, Classes]) -> dict[str, Any]:
    """The JSON-serialisable state (see the module docstring)."""
    tasks: dict[str, Any] = {}
    for task, column in sorted(columns.items()):
        tasks[task] = {"column": column.column, "kind": column.kind}
        key = _list_key(column.kind)
        if key is not None:
            tasks[task][key] = list(vocabularies[task])
    return {"format": STATE_FORMAT, "tasks": tasks}


def load_text_state(state: Mapping[str, Any], columns: Mapping[str, TaskColumn]) -> dict[str, Classes]:
    """The saved vocabularies of ``columns``' tasks; a task missing or changed is a one-line error."""
    where = "preprocessing.json"
    if state.get("format") != STATE_FORMAT:
        raise ConfigError(f"{where}: not a data=text preprocessing (format {state.get('format')!r})")
    saved_tasks = state.get("tasks") or {}
    vocabularies: dict[str, Classes] = {}
    for task, column in columns.items():
        saved = saved_task(saved_tasks, task, column, where)
        key = _list_key(column.kind)
        if key is not None:
            values = saved.get(key)
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}: task {task!r} has no {key} list")
            vocabularies[task] = list(values)
    return vocabularies
