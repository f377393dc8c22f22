"""Every logged name, built and parsed in one place (the module logs them, summaries store them, sweeps,
checkpoints and reports read them).

- ``<split>/<task>/<metric>`` (``val/left/accuracy``, ``test/sum/mae``) and ``<split>/<task>/loss``;
- ``<split>/loss``: the sum of the unweighted task losses;
- ``train/objective``: what is backpropagated; ``train/weight/<task>``: the coefficients;
- ``train/<strategy value>``: a weighting's own values (``train/log_var/<task>``);
- ``train/aux_loss/<name>``: an architecture's auxiliary loss terms;
- ``train/affinity/<task_i>/<task_j>``: gradient cosines (:class:`mtl_lab.callbacks.TaskAffinity`);
- ``task_attention/<query>/<key>``: the ``task_attention`` architecture's attention between tasks per
  validation epoch (:class:`mtl_lab.callbacks.task_attention.TaskAttentionMap`).

A metric's direction (``max``/``min``, for checkpoints, early stopping, Optuna and Δm%) comes from the
task kind that logs it (:attr:`mtl_lab.tasks.TaskKind.metric_directions`), found by the last part of
the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mtl_lab.errors import unknown_choice
from mtl_lab.tasks import TASK_KINDS, TaskSpec
from mtl_lab.tasks.base import all_metric_directions

SPLITS = ("train", "val", "test")
LOSS = "loss"
OBJECTIVE = "train/objective"
WEIGHT_PREFIX = "train/weight/"
AFFINITY_PREFIX = "train/affinity/"
TASK_ATTENTION_PREFIX = "task_attention/"


def task_metric(split: str, task: str, metric: str) -> str:
    return f"{split}/{task}/{metric}"


def split_loss(split: str) -> str:
    return f"{split}/{LOSS}"


def weight(task: str) -> str:
    return f"{WEIGHT_PREFIX}{task}"


def strategy_value(name: str) -> str:
    return f"train/{name}"


def aux_loss(name: str) -> str:
    return f"train/aux_loss/{name}"


def affinity(first: str, second: str) -> str:
    return f"{AFFINITY_PREFIX}{first}/{second}"


def task_attention(query: str, key: str) -> str:
    return f"{TASK_ATTENTION_PREFIX}{query}/{key}"


@dataclass(frozen=True)
class TaskMetricName:
    split: str
    task: str
    metric: str


def parse_task_metric(name: str) -> TaskMetricName | None:
    """``val/left/accuracy`` -> (val, left, accuracy); None for any other kind of name."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] not in SPLITS or not parts[1]:
        return None
    return TaskMetricName(*parts)


def metric_directions() -> dict[str, str]:
    """``{metric: "max" | "min"}`` over every registered task kind, ``loss`` included."""
    return all_metric_directions({name: TASK_KINDS.resolve(name) for name in TASK_KINDS})  # type: ignore[misc]


def metric_direction(logged_name: str) -> str:
    """``"max"`` or ``"min"`` for a logged name such as ``val/left/accuracy`` or ``val/loss``."""
    directions = metric_directions()
    metric = logged_name.rsplit("/", 1)[-1]
    if metric not in directions:
        raise unknown_choice("optimized_metric", logged_name, directions, "metric (last part of the name)")
    return directions[metric]


def higher_is_better(logged_name: str) -> bool:
    return metric_direction(logged_name) == "max"


def task_metric_names(metrics: Iterable[str], task: str, split: str = "test") -> list[str]:
    """The names ``<split>/<task>/<metric>`` among ``metrics`` that score the task (all but its loss)."""
    scored = set(metric_directions()) - {LOSS}
    found = []
    for name in metrics:
        parsed = parse_task_metric(name)
        if parsed and parsed.split == split and parsed.task == task and parsed.metric in scored:
            found.append(name)
    return found


def logged_metric_names(tasks: Mapping[str, TaskSpec]) -> list[str]:
    """Every ``<split>/...`` name the module logs for these tasks (weights and strategy values aside)."""
    names = []
    for split in SPLITS:
        names.append(split_loss(split))
        for task, spec in tasks.items():
            names.append(task_metric(split, task, LOSS))
            names += [task_metric(split, task, metric) for metric in spec.metric_directions]
    return names
