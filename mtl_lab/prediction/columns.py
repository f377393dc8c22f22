"""The output columns of mtl-predict, from a batch of model outputs, per task kind:

- classification: ``<task>`` the most probable class, by name (string) when the task has class names,
  else by index (int64); with ``predict.probabilities=true`` also ``<task>/<class>``, the softmax
  probability of each class (float).
- binary: ``<task>`` the probability of label 1, sigmoid(logit) (float).
- multilabel: ``<task>`` the labels with probability >= 0.5 (a list of names, or of indices); with
  ``predict.probabilities=true`` also ``<task>/<label>``, each label's probability.
- regression: ``<task>`` the predicted value (float; a list of values for a task with several outputs).
- token_classification: ``<task>`` a list of tags, one per word of the row's word list (null for a word
  cut by truncation); with ``predict.probabilities=true`` also ``<task>/<tag>``, per word the probability
  of that tag (:mod:`~mtl_lab.prediction.token_columns`).

``<class>`` / ``<label>`` is the class name, or the index when the task has no names. Table regression
labels are not standardised (:mod:`mtl_lab.data.table.labels`), so a value is in the label's own units.
A classification or regression task predicted per token or per pixel gives one flattened list per row.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import Tensor

from mtl_lab.data.text.config import TOKEN_KIND
from mtl_lab.data.text.words import WordStarts
from mtl_lab.errors import DataError
from mtl_lab.prediction.token_columns import word_tag_columns
from mtl_lab.tasks import TaskSpec

#: Probability from which a multilabel label is predicted.
MULTILABEL_THRESHOLD = 0.5
#: Kinds with a probability column per class, label or tag under ``predict.probabilities=true``.
PROBABILITY_KINDS = ("classification", "multilabel", TOKEN_KIND)


def class_labels(spec: TaskSpec) -> list[str]:
    """The names of the task's classes or labels: its class names, else the indices as text."""
    if spec.class_names is not None:
        return list(spec.class_names)
    return [str(i) for i in range(spec.num_outputs)]


def column_names(tasks: Mapping[str, TaskSpec], probabilities: bool) -> list[str]:
    """The prediction columns, in output order (see the module docstring)."""
    names = []
    for task, spec in tasks.items():
        names.append(task)
        if probabilities and spec.kind in PROBABILITY_KINDS:
            names += [f"{task}/{label}" for label in class_labels(spec)]
    return names


def _array(values: np.ndarray) -> pa.Array:
    """One value per row; rows of several values become fixed-size lists."""
    if values.ndim == 1:
        return pa.array(values)
    width = int(np.prod(values.shape[1:]))
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), width)


def _names(spec: TaskSpec, indices: np.ndarray) -> pa.Array:
    if spec.class_names is None:
        return _array(indices.astype(np.int64))
    taken = pc.take(pa.array(spec.class_names, pa.string()), pa.array(indices.reshape(-1)))
    if indices.ndim == 1:
        return taken
    return pa.FixedSizeListArray.from_arrays(taken, int(np.prod(indices.shape[1:])))


def _chosen_labels(spec: TaskSpec, chosen: np.ndarray) -> pa.Array:
    """Per row, the labels whose probability reaches the threshold (``chosen``: bool [rows, labels])."""
    offsets = np.concatenate([[0], np.cumsum(chosen.sum(axis=1))]).astype(np.int32)
    indices = np.nonzero(chosen)[1]
    if spec.class_names is None:
        values = pa.array(indices.astype(np.int64))
    else:
        values = pc.take(pa.array(spec.class_names, pa.string()), pa.array(indices))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def prediction_columns(
    tasks: Mapping[str, TaskSpec],
    predictions: Mapping[str, Tensor],
    probabilities: bool,
    words: WordStarts | None = None,
) -> dict[str, pa.Array]:
    """The columns of :func:`column_names` for a batch of the model's outputs (head outputs per task);
    ``words``: where each word of the batch's rows begins, needed by token_classification tasks."""
    columns: dict[str, pa.Array] = {}
    for task, spec in tasks.items():
        output = predictions[task].detach().float().cpu()
        probs: np.ndarray | None = None
        if spec.kind == TOKEN_KIND:
            if words is None:
                raise DataError(f"task {task!r}: its tags are per word; these rows have no word lists")
            columns |= word_tag_columns(task, output, words, class_labels(spec), probabilities)
        elif spec.kind == "classification":
            probs = torch.softmax(output, dim=-1).numpy()
            columns[task] = _names(spec, probs.argmax(axis=-1))
        elif spec.kind == "multilabel":
            probs = torch.sigmoid(output).numpy()
            columns[task] = _chosen_labels(spec, probs >= MULTILABEL_THRESHOLD)
        elif spec.kind == "binary":
            columns[task] = _array(torch.sigmoid(output).squeeze(-1).numpy())
        else:
            values = output.numpy()
            columns[task] = _array(values[:, 0] if values.shape[1:] == (1,) else values)
        if probabilities and probs is not None:
            for j, label in enumerate(class_labels(spec)):
                columns[f"{task}/{label}"] = _array(np.ascontiguousarray(probs[..., j]))
    return columns
