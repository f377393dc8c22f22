"""Contract of every registered architecture, built from the example it declares: features per task, the
shared tensors and parameters it declares, and gradient statistics equal to K separate backward passes
at every level (one pass at the representation where the graph allows it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from gradient_passes import assert_gramian_is_k_passes

from mtl_lab import gradients
from mtl_lab.batch import Batch, example_inputs
from mtl_lab.losses import task_losses
from mtl_lab.models.architectures import ARCHITECTURES, ArchitectureOutput
from mtl_lab.models.heads import LinearHead
from mtl_lab.models.model import MultiTaskModel
from mtl_lab.tasks import TaskSpec

LEVELS = list(gradients.GRAD_LEVELS)


def build(name: str) -> tuple[MultiTaskModel, dict[str, Any], dict[str, TaskSpec]]:
    example = ARCHITECTURES.resolve(name).example()
    architecture = ARCHITECTURES.build({"name": name}, **example)
    tasks = {t: TaskSpec(t, "regression", 2) for t in example["tasks"]}
    heads = {t: LinearHead(architecture.feature_dim(t), 2) for t in tasks}
    torch.manual_seed(0)
    return MultiTaskModel(architecture, heads).eval(), example, tasks


def batch_for(example: dict[str, Any], tasks: dict[str, TaskSpec]) -> Batch:
    g = torch.Generator().manual_seed(1)
    targets = {t: torch.randn(6, 2, generator=g) for t in tasks}
    return Batch(inputs=example_inputs(example["inputs"], 6), targets=targets)


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_every_architecture_gives_features_per_task_and_declares_what_is_shared(name: str) -> None:
    model, example, tasks = build(name)
    out = model.architecture(example_inputs(example["inputs"], 3))
    assert isinstance(out, ArchitectureOutput) and set(out.features) == set(tasks)
    for task, features in out.features.items():
        assert features.shape == (3, model.architecture.feature_dim(task))
    assert isinstance(out.shared, tuple) and out.shared
    assert all(torch.isfinite(v) and v.dim() == 0 for v in out.aux_losses.values())
    shared = {id(p) for p in model.architecture.shared_parameters()}
    assert shared and {id(p) for p in model.architecture.last_shared_parameters()} <= shared
    for task in tasks:  # every task's features depend on every shared parameter and shared tensor
        targets = [*model.architecture.shared_parameters(), *out.shared]
        grads = torch.autograd.grad(out.features[task].sum(), targets, allow_unused=True, retain_graph=True)
        assert all(g is not None for g in grads)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_statistics_equal_k_separate_backward_passes(name: str, level: str) -> None:
    model, example, tasks = build(name)
    assert_gramian_is_k_passes(model, tasks, batch_for(example, tasks), level)


def test_hard_sharing_takes_one_pass_at_the_representation(monkeypatch: pytest.MonkeyPatch) -> None:
    model, example, tasks = build("shared")
    batch = batch_for(example, tasks)
    output = model(batch.inputs)
    views = gradients.one_pass_views(output.features, output.shared)
    assert views is not None and len(views) == len(tasks)
    calls: list[int] = []
    grad = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: calls.append(1) or grad(*a, **k))
    gradients.gramian(task_losses(tasks, output, batch).terms, list(output.shared), True, views=views)
    assert len(calls) == 1


def test_one_pass_is_refused_when_the_graph_does_not_show_per_task_views() -> None:
    z = torch.randn(4, 3, requires_grad=True) * 2.0
    views = {"a": z.view_as(z), "b": z.view_as(z)}
    assert gradients.one_pass_views(views, (z,)) is not None
    assert gradients.one_pass_views({"a": z, "b": z.view_as(z)}, (z,)) is None  # a head reads z itself
    assert gradients.one_pass_views({"a": z.view_as(z), "b": z * 1.0}, (z,)) is None  # not a view
    shared_view = z.view_as(z)
    assert gradients.one_pass_views({"a": shared_view, "b": shared_view}, (z,)) is None  # one view, two heads
    assert gradients.one_pass_views(views, (z, z * 2)) is None  # several shared tensors


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_every_architecture_runs_under_bf16_autocast_with_a_float32_gramian(name: str) -> None:
    model, example, tasks = build(name)
    batch = batch_for(example, tasks)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = model(batch.inputs)
        losses = task_losses(tasks, output, batch)
        inputs, views = gradients.level_inputs(model.architecture, output, "representation")
        gramian = gradients.gramian(losses.terms, inputs, representation=True, views=views)
    assert gramian.dtype == torch.float32 and torch.isfinite(gramian).all()
    assert (torch.diagonal(gramian) > 0).all()
    torch.stack(losses.terms).sum().backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_every_architecture_round_trips_through_a_state_dict(name: str, tmp_path: Path) -> None:
    model, example, tasks = build(name)
    inputs = example_inputs(example["inputs"], 4)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    torch.manual_seed(123)  # a differently initialised twin
    twin = MultiTaskModel(
        ARCHITECTURES.build({"name": name}, **example),
        {t: LinearHead(model.architecture.feature_dim(t), 2) for t in tasks},
    ).eval()
    twin.load_state_dict(torch.load(tmp_path / "model.pt"))
    expected, loaded = model(inputs), twin(inputs)
    for task in tasks:
        assert torch.equal(expected.predictions[task], loaded.predictions[task])
