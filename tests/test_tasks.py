from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mtl_lab.errors import ConfigError, DataError
from mtl_lab.tasks import HIGHER_IS_BETTER, TaskSpec, metric_direction

KINDS = {
    "classification": (TaskSpec("c", "classification", 4), torch.tensor([0, 3, 1, 2, 3])),
    "multilabel": (
        TaskSpec("m", "multilabel", 3),
        torch.tensor([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1]]),
    ),
    "regression": (
        TaskSpec("r", "regression", 2),
        torch.randn(5, 2, generator=torch.Generator().manual_seed(0)),
    ),
}


def test_default_losses_by_kind() -> None:
    assert TaskSpec("a", "classification", 3).loss == "cross_entropy"
    assert TaskSpec("a", "multilabel", 3).loss == "bce"
    assert TaskSpec("a", "regression", 1).loss == "mse"
    assert TaskSpec("a", "regression", 1, loss="l1").loss == "l1"


@pytest.mark.parametrize(
    ("kind", "loss", "message"),
    [
        ("segmentation", None, "unknown task kind 'segmentation'"),
        ("regression", "huber", "unknown loss 'huber'; choices: l1, mse"),
        ("classification", "mse", "unknown loss 'mse'; choices: cross_entropy"),
    ],
)
def test_invalid_kind_or_loss(kind: str, loss: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TaskSpec("t", kind, 2, loss=loss)  # type: ignore[arg-type]


def test_loss_values_match_torch_functional() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(5, 4, generator=g)
    labels = torch.tensor([0, 3, 1, 2, 3])
    assert torch.allclose(
        TaskSpec("c", "classification", 4).compute_loss(logits, labels), F.cross_entropy(logits, labels)
    )
    pred, target = torch.randn(5, 2, generator=g), torch.randn(5, 2, generator=g)
    assert torch.allclose(TaskSpec("r", "regression", 2).compute_loss(pred, target), F.mse_loss(pred, target))
    assert torch.allclose(
        TaskSpec("r", "regression", 2, loss="l1").compute_loss(pred, target), F.l1_loss(pred, target)
    )
    bits = torch.randint(0, 2, (5, 3), generator=g)
    multi = torch.randn(5, 3, generator=g)
    expected = F.binary_cross_entropy_with_logits(multi, bits.float())
    assert torch.allclose(TaskSpec("m", "multilabel", 3).compute_loss(multi, bits), expected)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_masked_loss_is_the_mean_over_labelled_samples(kind: str) -> None:
    spec, target = KINDS[kind]
    prediction = torch.randn(5, spec.num_outputs, generator=torch.Generator().manual_seed(2))
    mask = torch.tensor([True, False, True, True, False])
    masked = spec.compute_loss(prediction, target, mask)
    assert torch.allclose(masked, spec.compute_loss(prediction[mask], target[mask]))
    assert spec.compute_loss(prediction, target, torch.zeros(5, dtype=torch.bool)) == 0


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("classification", {"accuracy", "macro_f1"}),
        ("multilabel", {"macro_f1", "auroc"}),
        ("regression", {"mae", "rmse"}),
    ],
)
def test_metrics_by_kind_compute_known_values(kind: str, names: set[str]) -> None:
    spec, target = KINDS[kind]
    metrics = spec.make_metrics()
    assert set(metrics.keys()) == names
    assert all(name in HIGHER_IS_BETTER for name in names)
    if kind == "classification":
        perfect = F.one_hot(target, 4).float()
        metrics.update(*spec.metric_inputs(perfect, target))
        assert metrics.compute()["accuracy"] == 1.0
    elif kind == "regression":
        metrics.update(*spec.metric_inputs(target + 0.5, target))
        values = metrics.compute()
        assert torch.isclose(values["mae"], torch.tensor(0.5)) and torch.isclose(
            values["rmse"], torch.tensor(0.5)
        )
    else:
        metrics.update(*spec.metric_inputs(target.float() * 10 - 5, target))
        assert metrics.compute()["auroc"] == 1.0


@pytest.mark.parametrize(
    ("spec", "targets", "message"),
    [
        (
            TaskSpec("left", "classification", 10),
            torch.tensor([1, 12, 3]),
            "task 'left' .*label 12 outside the task's classes 0..9",
        ),
        (TaskSpec("left", "classification", 10), torch.tensor([-1, 2]), "label -1 outside"),
        (TaskSpec("left", "classification", 10), torch.tensor([1.5]), "labels must be integers"),
        (TaskSpec("tags", "multilabel", 2), torch.tensor([[0, 2]]), "task 'tags' .*not 0 or 1"),
        (TaskSpec("sum", "regression", 1), torch.tensor([[float("nan")]]), "task 'sum' .*NaN or inf"),
    ],
)
def test_invalid_targets_name_the_task_and_value(spec: TaskSpec, targets: torch.Tensor, message: str) -> None:
    with pytest.raises(DataError, match=message):
        spec.validate_targets(targets, "split 'train'")


def test_metric_direction_from_logged_name() -> None:
    assert metric_direction("val/loss") == "min"
    assert metric_direction("val/left/accuracy") == "max"
    assert metric_direction("val/sum/rmse") == "min"
    with pytest.raises(ConfigError, match="optimized_metric: unknown metric .*'val/left/acc'"):
        metric_direction("val/left/acc")
