"""A ``data=table`` run as the model sees it, rebuilt from the run's config and ``preprocessing.json``
without reading any data file: the tasks (kind, loss, class names), the inputs ``numeric`` /
``categorical`` and the fitted feature preprocessing. ``mtl-predict`` then streams the rows of a file
through it (:mod:`mtl_lab.prediction.table_stream`); ``mtl-export`` needs nothing more.

:func:`prediction_datamodule` is the data builder of :func:`mtl_lab.evaluation.load_run` for both
commands: this for ``data=table`` / ``data=table_demo`` runs, the run's own datamodule otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mtl_lab.batch import InputSpec
from mtl_lab.data.datamodule import BaseDataModule, select_tasks
from mtl_lab.data.preprocessing_file import PREPROCESSING_FILE
from mtl_lab.data.table.config import FeatureColumns, TaskColumn, parse_features, parse_tasks
from mtl_lab.data.table.datamodule import STATE_FORMAT
from mtl_lab.data.table.demo import DEMO_FEATURES, DEMO_TASKS
from mtl_lab.data.table.features import FeaturePreprocessing
from mtl_lab.errors import ConfigError
from mtl_lab.evaluation import run_datamodule
from mtl_lab.tasks import TaskSpec

#: Datamodule names whose rows mtl-predict streams from the file.
TABLE_DATA = ("table", "table_demo")


def is_table_run(cfg: DictConfig) -> bool:
    return cfg.get("data") is not None and cfg.data.get("name") in TABLE_DATA


class TablePredictionData(BaseDataModule):
    """Tasks, inputs and feature preprocessing of a table run (see the module docstring). It serves no
    loaders: rows come from :class:`~mtl_lab.prediction.table_stream.TableStream`."""

    name = "table"

    def __init__(
        self,
        features: FeatureColumns,
        task_columns: Mapping[str, TaskColumn],
        preprocessing: FeaturePreprocessing,
        classes: Mapping[str, list[Any]],
        use_tasks: list[str] | str | None = None,
    ) -> None:
        super().__init__()
        self.features = features
        self.preprocessing = preprocessing
        self.classes = dict(classes)
        declared = {}
        for task, column in task_columns.items():
            names = tuple(str(c) for c in self.classes[task]) if task in self.classes else None
            size = len(names) if names is not None else 1
            declared[task] = TaskSpec(task, column.kind, size, loss=column.loss, class_names=names)
        self.tasks = select_tasks(declared, use_tasks, self.name)
        self.task_columns = {task: task_columns[task] for task in self.tasks}

    @classmethod
    def from_run(cls, cfg: DictConfig, state: Mapping[str, Any] | None) -> TablePredictionData:
        """From the run's ``data`` node and top-level ``tasks`` selection, and its saved preprocessing."""
        where = str(Path(cfg.paths.output_dir) / PREPROCESSING_FILE)
        if state is None:
            raise ConfigError(f"run: no {where} (a data=table run writes it when it trains)")
        if state.get("format") != STATE_FORMAT:
            raise ConfigError(f"{where}: not a data=table preprocessing (format {state.get('format')!r})")
        node: dict[str, Any] = OmegaConf.to_container(cfg.data, resolve=True)  # type: ignore[assignment]
        demo = node.get("name") == "table_demo"
        features = parse_features(node.get("features") or (DEMO_FEATURES if demo else None))
        columns = parse_tasks(node.get("tasks") or (DEMO_TASKS if demo else None), features)
        saved_tasks = state.get("tasks") or {}
        classes = {}
        for column in columns:
            saved = saved_tasks.get(column.task)
            if not isinstance(saved, Mapping) or (saved.get("column"), saved.get("kind")) != (
                column.column,
                column.kind,
            ):
                raise ConfigError(
                    f"{where}: task {column.task!r} (column {column.column!r}, {column.kind}) is not in the "
                    f"saved preprocessing; saved tasks: {', '.join(sorted(saved_tasks)) or '(none)'}"
                )
            if column.kind == "classification":
                classes[column.task] = list(saved["classes"])
        preprocessing = FeaturePreprocessing.from_state(state["features"], features, where)
        selection = cfg.get("tasks")
        use_tasks = selection if selection is None or isinstance(selection, str) else list(selection)
        return cls(features, {c.task: c for c in columns}, preprocessing, classes, use_tasks)

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        return self.preprocessing.input_specs

    def labelled_counts(self) -> dict[str, dict[str, int]]:
        """Empty: prediction reads no train/val/test split."""
        return {}


def prediction_datamodule(cfg: DictConfig, state: Mapping[str, Any] | None) -> BaseDataModule:
    """The data builder of mtl-predict and mtl-export (see the module docstring)."""
    if is_table_run(cfg):
        return TablePredictionData.from_run(cfg, state)
    return run_datamodule(cfg, state)
