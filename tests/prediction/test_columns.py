"""The output columns of each task kind, from made-up model outputs."""

from __future__ import annotations

import pyarrow as pa
import pytest
import torch

from mtl_lab.prediction.columns import column_names, prediction_columns
from mtl_lab.tasks import TaskSpec

TASKS = {
    "segment": TaskSpec("segment", "classification", 3, class_names=("a", "b", "c")),
    "digit": TaskSpec("digit", "classification", 2),
    "churn": TaskSpec("churn", "binary", 1),
    "tags": TaskSpec("tags", "multilabel", 3, class_names=("x", "y", "z")),
    "flags": TaskSpec("flags", "multilabel", 2),
    "spend": TaskSpec("spend", "regression", 1),
    "xy": TaskSpec("xy", "regression", 2),
}
OUTPUTS = {
    "segment": torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0]]),
    "digit": torch.tensor([[0.0, 1.0], [1.0, 0.0]]),
    "churn": torch.tensor([[0.0], [2.0]]),
    "tags": torch.tensor([[1.0, -1.0, 2.0], [-3.0, -3.0, -3.0]]),
    "flags": torch.tensor([[1.0, 1.0], [-1.0, 1.0]]),
    "spend": torch.tensor([[1.5], [-2.0]]),
    "xy": torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
}


def test_each_kind_gives_its_prediction_and_the_probability_columns_follow_the_names() -> None:
    columns = prediction_columns(TASKS, OUTPUTS, probabilities=True)
    assert list(columns) == column_names(TASKS, probabilities=True)
    assert list(columns)[:6] == ["segment", "segment/a", "segment/b", "segment/c", "digit", "digit/0"]
    assert columns["segment"].to_pylist() == ["b", "a"] and columns["segment"].type == pa.string()
    assert columns["digit"].to_pylist() == [1, 0] and columns["digit"].type == pa.int64()
    total = [sum(columns[f"segment/{c}"][i].as_py() for c in "abc") for i in range(2)]
    assert total == pytest.approx([1.0, 1.0], abs=1e-6)
    assert columns["churn"].to_pylist() == pytest.approx([0.5, torch.sigmoid(torch.tensor(2.0)).item()])
    assert columns["tags"].to_pylist() == [["x", "z"], []]
    assert columns["flags"].to_pylist() == [[0, 1], [1]]
    assert columns["tags/y"].to_pylist() == pytest.approx(
        [torch.sigmoid(torch.tensor(-1.0)).item(), 0.0474], abs=1e-4
    )
    assert columns["spend"].to_pylist() == [1.5, -2.0]
    assert columns["xy"].to_pylist() == [[1.0, 2.0], [3.0, 4.0]]
    assert "churn/1" not in columns and "spend/0" not in columns


def test_without_probabilities_one_column_per_task_and_per_token_tasks_give_lists() -> None:
    assert column_names(TASKS, probabilities=False) == list(TASKS)
    per_token = {"tokens": TaskSpec("tokens", "classification", 3, class_names=("o", "b", "i"))}
    logits = torch.zeros(2, 4, 3)
    logits[0, :, 1] = 1.0
    logits[1, 2, 2] = 1.0
    columns = prediction_columns(per_token, {"tokens": logits}, probabilities=True)
    assert columns["tokens"].to_pylist() == [["b"] * 4, ["o", "o", "i", "o"]]
    assert len(columns["tokens/i"][1].as_py()) == 4
