"""Task kinds: the contract of every registered kind (from the example it declares), known loss and metric
values, masks, label validation, and metric directions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mtl_lab.errors import ConfigError, DataError
from mtl_lab.names import metric_direction, metric_directions
from mtl_lab.tasks import TASK_KINDS, TaskSpec

KINDS = TASK_KINDS.names()


def example_spec(kind: str) -> tuple[TaskSpec, torch.Tensor, torch.Tensor]:
    example = TASK_KINDS.resolve(kind).example()
    spec = TaskSpec("t", kind, example.num_outputs, class_names=example.class_names)
    return spec, example.prediction, example.target


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_scores_its_example(kind: str) -> None:
    spec, prediction, target = example_spec(kind)
    spec.validate_targets(target, "example")
    assert spec.loss == TASK_KINDS.resolve(kind).losses[0]
    loss = spec.compute_loss(prediction.requires_grad_(), target)
    assert loss.dim() == 0 and torch.isfinite(loss) and loss > 0
    loss.backward()
    assert prediction.grad is not None and prediction.grad.abs().sum() > 0
    metrics = spec.make_metrics()
    assert set(metrics.keys()) == set(spec.metric_directions) and spec.metric_directions
    metrics.update(*spec.metric_inputs(prediction, target))
    values = metrics.compute()
    assert all(torch.isfinite(v) for v in values.values())
    assert set(spec.describe()) >= {"kind", "num_outputs", "loss"}


@pytest.mark.parametrize("kind", KINDS)
def test_masked_loss_is_the_mean_over_labelled_units_and_ignores_what_masked_units_hold(kind: str) -> None:
    spec, prediction, target = example_spec(kind)
    units = spec.behaviour.element_loss(prediction, target).shape  # [6] per sample, [6, T] per token
    samples = torch.tensor([True, False, True, True, False, True])
    mask = samples.reshape(6, *[1] * (len(units) - 1)).expand(units)
    masked = spec.compute_loss(prediction, target, mask)
    assert torch.allclose(masked, spec.compute_loss(prediction[mask], target[mask]))
    garbage = target.clone().float()
    garbage[~mask] = float("nan")  # a missing label may hold anything
    assert torch.allclose(spec.compute_loss(prediction, garbage, mask), masked)
    total, count = spec.loss_terms(prediction, target, mask)
    assert count == mask.sum() and torch.allclose(total / mask.sum(), masked)
    none = torch.zeros(units, dtype=torch.bool)
    assert (
        spec.compute_loss(prediction, target, none) == 0 and spec.loss_terms(prediction, target, none)[1] == 0
    )


def test_per_token_classification_masks_tokens() -> None:
    spec = TaskSpec("ner", "classification", 3)
    logits = torch.randn(2, 4, 3, generator=torch.Generator().manual_seed(0))  # [B, T, C]
    tags = torch.tensor([[0, 2, 1, 0], [1, 1, 0, 0]])
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    expected = F.cross_entropy(logits[mask], tags[mask])
    assert torch.allclose(spec.compute_loss(logits, tags, mask), expected)


def test_default_losses_by_kind() -> None:
    assert TaskSpec("a", "classification", 3).loss == "cross_entropy"
    assert TaskSpec("a", "multilabel", 3).loss == "bce"
    assert TaskSpec("a", "binary", 1).loss == "bce"
    assert TaskSpec("a", "regression", 1).loss == "mse"
    assert TaskSpec("a", "regression", 1, loss="l1").loss == "l1"


@pytest.mark.parametrize(
    ("kind", "loss", "outputs", "message"),
    [
        (
            "segmentation",
            None,
            2,
            "task 't' kind: unknown task kind 'segmentation'; choices: binary, classification",
        ),
        ("regression", "huber", 2, "task 't' loss: unknown loss 'huber'; choices: l1, mse"),
        ("classification", "mse", 2, "task 't' loss: unknown loss 'mse'; choices: cross_entropy"),
        ("binary", None, 2, "task 't': a binary task has 1 output(s), got 2"),
        ("classification", None, 0, "task 't': num_outputs must be >= 1, got 0"),
    ],
)
def test_invalid_kind_loss_or_size(kind: str, loss: str | None, outputs: int, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        TaskSpec("t", kind, outputs, loss=loss)
    assert str(error.value).startswith(message)


def test_class_names_are_one_per_class_and_described() -> None:
    spec = TaskSpec("segment", "classification", 2, class_names=("basic", "premium"))
    assert spec.describe()["class_names"] == ["basic", "premium"]
    with pytest.raises(ConfigError, match="1 class names for 2 outputs"):
        TaskSpec("segment", "classification", 2, class_names=("basic",))


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
    logit = torch.randn(5, 1, generator=g)
    clicks = torch.tensor([1, 0, 0, 1, 1])
    expected = F.binary_cross_entropy_with_logits(logit.squeeze(1), clicks.float())
    assert torch.allclose(TaskSpec("click", "binary", 1).compute_loss(logit, clicks), expected)


def test_metrics_by_kind_compute_known_values() -> None:
    target = torch.tensor([0, 3, 1, 2, 3])
    spec = TaskSpec("c", "classification", 4)
    metrics = spec.make_metrics()
    metrics.update(*spec.metric_inputs(F.one_hot(target, 4).float(), target))
    assert metrics.compute()["accuracy"] == 1.0
    spec = TaskSpec("r", "regression", 2)
    values = torch.randn(5, 2, generator=torch.Generator().manual_seed(0))
    metrics = spec.make_metrics()
    metrics.update(*spec.metric_inputs(values + 0.5, values))
    result = metrics.compute()
    assert torch.isclose(result["mae"], torch.tensor(0.5)) and torch.isclose(
        result["rmse"], torch.tensor(0.5)
    )
    spec = TaskSpec("m", "multilabel", 3)
    bits = torch.tensor([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1]])
    metrics = spec.make_metrics()
    metrics.update(*spec.metric_inputs(bits.float() * 10 - 5, bits))
    assert metrics.compute()["auroc"] == 1.0


def test_binary_metrics_read_probabilities_from_logits() -> None:
    spec = TaskSpec("click", "binary", 1)
    labels = torch.tensor([1, 0, 1, 0])
    # logits inside [0, 1] would be read as probabilities by torchmetrics: 0.9 and 0.6 would both be "1"
    logits = torch.tensor([[0.9], [-0.2], [0.6], [-3.0]])
    metrics = spec.make_metrics()
    metrics.update(*spec.metric_inputs(logits, labels))
    values = metrics.compute()
    assert values["accuracy"] == 1.0 and values["f1"] == 1.0 and values["auroc"] == 1.0
    logits = torch.tensor([[0.3], [0.2], [-0.1], [0.4]])  # sigmoid: .57 .55 .48 .60 -> 1 1 0 1 vs 1 0 1 0
    metrics = spec.make_metrics()
    metrics.update(*spec.metric_inputs(logits, labels))
    assert metrics.compute()["accuracy"] == 0.25


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
        (
            TaskSpec("click", "binary", 1),
            torch.tensor([0, 1, 2]),
            "task 'click' .*binary label 2 is not 0 or 1",
        ),
        (TaskSpec("sum", "regression", 1), torch.tensor([[float("nan")]]), "task 'sum' .*NaN or inf"),
    ],
)
def test_invalid_targets_name_the_task_and_value(spec: TaskSpec, targets: torch.Tensor, message: str) -> None:
    with pytest.raises(DataError, match=message):
        spec.validate_targets(targets, "split 'train'")


def test_validation_looks_at_labelled_units_only() -> None:
    spec = TaskSpec("left", "classification", 3)
    spec.validate_targets(torch.tensor([1, 99, 2]), "train", mask=torch.tensor([True, False, True]))
    with pytest.raises(DataError, match="label 99"):
        spec.validate_targets(torch.tensor([1, 99, 2]), "train", mask=torch.tensor([True, True, True]))


def test_metric_direction_from_logged_name() -> None:
    assert metric_direction("val/loss") == "min"
    assert metric_direction("val/left/accuracy") == "max"
    assert metric_direction("val/click/f1") == "max"
    assert metric_direction("val/sum/rmse") == "min"
    with pytest.raises(ConfigError, match="optimized_metric: unknown metric .*'val/left/acc'"):
        metric_direction("val/left/acc")


def test_every_metric_of_every_kind_has_one_direction() -> None:
    directions = metric_directions()
    for kind in KINDS:
        for metric, direction in TASK_KINDS.resolve(kind).metric_directions.items():
            assert directions[metric] == direction in ("max", "min")


@pytest.mark.parametrize(("kind", "outputs", "label_shape"), [("binary", 1, ()), ("multilabel", 3, (3,))])
def test_auroc_of_a_ddp_rank_without_samples_gathers_typed_empty_lists(
    kind: str, outputs: int, label_shape: tuple[int, ...]
) -> None:
    """torchmetrics would gather an empty 1-D float for the integer labels: gloo aborts (seen on 2 ranks)."""
    auroc = TaskSpec("t", kind, outputs).make_metrics()["auroc"]
    gathered: list[tuple[torch.dtype, tuple[int, ...]]] = []

    def gather(tensor: torch.Tensor, group: object = None) -> list[torch.Tensor]:
        gathered.append((tensor.dtype, tuple(tensor.shape)))
        return [tensor]

    auroc._sync_dist(dist_sync_fn=gather)
    assert sorted(gathered, key=str) == sorted(
        [(torch.float32, (0, *label_shape)), (torch.int64, (0, *label_shape))], key=str
    )


def test_a_mask_of_another_shape_than_the_labelled_units_is_refused() -> None:
    spec = TaskSpec("sum", "regression", 1)
    prediction, target = torch.randn(4, 1), torch.randn(4, 1)
    with pytest.raises(
        DataError, match=r"regression task: mask of shape \(4, 1\) for losses of shape \(4,\)"
    ):
        spec.loss_terms(prediction, target, torch.ones(4, 1, dtype=torch.bool))
