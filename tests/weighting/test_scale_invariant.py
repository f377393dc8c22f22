from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from conftest import SMALL_CNN
from omegaconf import DictConfig

from mtl_lab.experiment import run_experiment
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import GradientStats, ScaleInvariantWeighting

TASKS = {t: TaskSpec(t, "regression", 1) for t in ("a", "b")}


def test_coefficients_are_the_inverse_global_losses() -> None:
    weighting = ScaleInvariantWeighting(TASKS)
    local, global_losses = torch.tensor([1.0, 1.0]), torch.tensor([0.5, 8.0])
    coefficients = weighting(local, GradientStats(global_losses=global_losses)).coefficients
    assert coefficients.tolist() == pytest.approx([2.0, 0.125], rel=1e-6)


def test_scaling_a_loss_by_a_constant_leaves_the_update_unchanged() -> None:
    parameter = torch.tensor([0.3, -1.2], requires_grad=True)
    gradients = []
    for scale in (1.0, 1000.0):
        losses = torch.stack([(parameter**2).sum(), scale * (parameter - 1).abs().sum()])
        out = ScaleInvariantWeighting(TASKS)(losses, GradientStats(global_losses=losses.detach()))
        (grad,) = torch.autograd.grad((out.coefficients * losses).sum(), parameter)
        gradients.append(grad)
    assert torch.allclose(gradients[0], gradients[1], rtol=1e-5)


def test_training_run(make_config: Callable[..., DictConfig]) -> None:
    summary = run_experiment(make_config("weighting=scale_invariant", *SMALL_CNN, "trainer.max_epochs=1"))
    assert summary.status == "completed"
    assert all(math.isfinite(v) for v in summary.metrics.values())
    for task in ("left", "right", "sum"):  # the last step's 1 / L
        assert summary.weights[task] * summary.metrics[f"train/{task}/loss"] == pytest.approx(1.0, rel=1e-5)
