"""The keys of ``data=table`` that name columns, parsed and checked before any file is read.

``features``: ``{numeric: [column, ...], categorical: [column, ...]}`` (at least one column in all).
``tasks``: ``{task: {column: <column>, kind: binary|classification|regression, loss: null}}``; ``column``
defaults to the task's name and ``loss`` to the kind's default. ``missing_features``: ``fill`` | ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.tasks import TASK_KINDS

#: Task kinds a table column can hold.
TABLE_KINDS = ("binary", "classification", "regression")
FEATURE_KINDS = ("numeric", "categorical")
TASK_KEYS = ("column", "kind", "loss")
MISSING_FEATURES = ("fill", "error")


@dataclass(frozen=True)
class FeatureColumns:
    """The feature columns, in the order of the model's ``numeric`` and ``categorical`` inputs."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    def describe(self) -> dict[str, list[str]]:
        return {"numeric": list(self.numeric), "categorical": list(self.categorical)}


@dataclass(frozen=True)
class TaskColumn:
    """One task of the table: its name, label column, kind and loss (None: the kind's default)."""

    task: str
    column: str
    kind: str
    loss: str | None = None


def parse_features(features: Mapping[str, Sequence[str] | None] | None) -> FeatureColumns:
    """``data.features`` checked: known keys, lists of column names, no column twice, not empty."""
    features = dict(features or {})
    for key in features:
        if key not in FEATURE_KINDS:
            raise unknown_choice("data.features", key, FEATURE_KINDS, "feature kind")
    lists: dict[str, tuple[str, ...]] = {}
    for kind in FEATURE_KINDS:
        columns = features.get(kind) or []
        if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
            raise ConfigError(f"data.features.{kind}: expected a list of column names, got {columns!r}")
        lists[kind] = tuple(columns)
    everything = lists["numeric"] + lists["categorical"]
    if not everything:
        raise ConfigError(
            "data.features: no features given; name the input columns, e.g. "
            "data.features={numeric: [age, income], categorical: [region]}"
        )
    for column in everything:
        if everything.count(column) > 1:
            raise ConfigError(f"data.features: column {column!r} is listed twice")
    return FeatureColumns(numeric=lists["numeric"], categorical=lists["categorical"])


def parse_tasks(
    tasks: Mapping[str, Mapping[str, Any] | None] | None, features: FeatureColumns
) -> list[TaskColumn]:
    """``data.tasks`` checked: at least one task, known keys and kinds, a label column not a feature."""
    inputs = {c: "a feature (data.features)" for c in features.numeric + features.categorical}
    return parse_task_columns(
        tasks, TABLE_KINDS, inputs, "a table column", "data.tasks={churn: {column: churned, kind: binary}}"
    )


def parse_task_columns(
    tasks: Mapping[str, Mapping[str, Any] | None] | None,
    kinds: Sequence[str],
    inputs: Mapping[str, str],
    source: str,
    example: str,
) -> list[TaskColumn]:
    """``data.tasks`` of a file source: at least one task (``example`` shows one), known keys, a kind
    of ``kinds`` (``source`` says what holds them), a loss of the kind, a label column that is none of
    ``inputs`` (column -> what it is, e.g. ``a feature (data.features)``)."""
    if not tasks:
        raise ConfigError(
            f"data.tasks: no tasks given; name each task's label column and kind, e.g. {example}"
        )
    parsed = []
    for task, node in tasks.items():
        node = dict(node or {})
        for key in node:
            if key not in TASK_KEYS:
                raise unknown_choice(f"data.tasks.{task}", key, TASK_KEYS, "key")
        column, kind, loss = node.get("column", task), node.get("kind"), node.get("loss")
        if kind is None:
            raise ConfigError(f"data.tasks.{task}.kind: missing; choices: {', '.join(kinds)}")
        if kind not in kinds:
            raise unknown_choice(f"data.tasks.{task}.kind", kind, kinds, f"task kind for {source}")
        if loss is not None and loss not in TASK_KINDS.resolve(kind).losses:
            raise unknown_choice(f"data.tasks.{task}.loss", loss, TASK_KINDS.resolve(kind).losses, "loss")
        if not isinstance(column, str):
            raise ConfigError(f"data.tasks.{task}.column: expected a column name, got {column!r}")
        if column in inputs:
            raise ConfigError(
                f"data.tasks.{task}.column: {column!r} is also {inputs[column]}; a label cannot be an input"
            )
        parsed.append(TaskColumn(task=str(task), column=column, kind=kind, loss=loss))
    return parsed


def check_missing_features(value: str) -> str:
    if value not in MISSING_FEATURES:
        raise unknown_choice("data.missing_features", value, MISSING_FEATURES, "choice")
    return value


def saved_task(
    saved_tasks: Mapping[str, Any], task: str, column: TaskColumn, where: str
) -> Mapping[str, Any]:
    """Task ``task``'s entry of a saved preprocessing's ``tasks``; one line naming the saved tasks when it
    is missing or was another column or kind."""
    saved = saved_tasks.get(task)
    expected = (column.column, column.kind)
    if not isinstance(saved, Mapping) or (saved.get("column"), saved.get("kind")) != expected:
        raise ConfigError(
            f"{where}: task {task!r} (column {column.column!r}, {column.kind}) is not in the saved "
            f"preprocessing; saved tasks: {', '.join(sorted(saved_tasks)) or '(none)'}"
        )
    return saved
