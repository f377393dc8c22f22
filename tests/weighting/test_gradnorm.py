from __future__ import annotations

import pytest
import torch

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import GradientStats, GradNormWeighting

TASKS = {t: TaskSpec(t, "regression", 1) for t in ("a", "b", "c")}


def run_step(weighting: GradNormWeighting, losses: torch.Tensor, norms: torch.Tensor) -> torch.Tensor:
    out = weighting(losses, GradientStats(global_losses=losses, grad_norms=norms))
    out.extra.backward()
    return out.coefficients


def test_weight_gradient_is_that_of_the_papers_grad_loss() -> None:
    weighting = GradNormWeighting(TASKS, alpha=1.5)
    with torch.no_grad():
        weighting.weights.copy_(torch.tensor([0.5, 1.0, 1.5]))
    first = torch.tensor([2.0, 4.0, 1.0])
    run_step(weighting, first, torch.tensor([1.0, 1.0, 1.0]))  # sets L(0)
    weighting.weights.grad = None

    losses, norms = torch.tensor([1.0, 3.0, 0.9]), torch.tensor([2.0, 0.5, 1.0])
    coefficients = run_step(weighting, losses, norms)

    w = torch.tensor([0.5, 1.0, 1.5], requires_grad=True)
    ratios = losses / first
    r = ratios / ratios.mean()
    g = w * norms
    target = (g.mean() * r**1.5).detach()
    (g - target).abs().sum().backward()
    assert torch.allclose(weighting.weights.grad, w.grad)
    assert torch.equal(coefficients, torch.tensor([0.5, 1.0, 1.5]))


def test_initial_losses_are_the_mean_of_the_first_n_steps() -> None:
    weighting = GradNormWeighting(TASKS, initial_loss_steps=2)
    norms = torch.ones(3)
    run_step(weighting, torch.tensor([1.0, 2.0, 3.0]), norms)
    run_step(weighting, torch.tensor([3.0, 4.0, 5.0]), norms)
    run_step(weighting, torch.tensor([9.0, 9.0, 9.0]), norms)
    assert torch.equal(weighting.initial_losses, torch.tensor([2.0, 3.0, 4.0]))
    with pytest.raises(ConfigError, match="initial_loss_steps"):
        GradNormWeighting(TASKS, initial_loss_steps=0)


def test_weights_stay_positive_and_sum_to_the_number_of_tasks() -> None:
    weighting = GradNormWeighting(TASKS)
    with torch.no_grad():
        weighting.weights.copy_(torch.tensor([-0.2, 0.3, 4.0]))
    weighting.on_after_optimizer_step()
    assert (weighting.weights > 0).all()
    assert torch.isclose(weighting.weights.sum(), torch.tensor(3.0))


def test_overflowed_gradient_norms_leave_the_weights_unchanged() -> None:
    weighting = GradNormWeighting(TASKS)
    run_step(weighting, torch.ones(3), torch.ones(3))
    weighting.weights.grad = None
    run_step(weighting, torch.ones(3), torch.tensor([1.0, float("inf"), 2.0]))
    assert torch.equal(weighting.weights.grad, torch.zeros(3))


def test_balancing_moves_weight_towards_the_task_with_smaller_gradients() -> None:
    # equal training rates (r = 1): the target is the mean norm, so w_t -> proportional to 1 / g_t
    weighting = GradNormWeighting({t: TASKS[t] for t in ("a", "b")}, alpha=0.12)
    optimizer = torch.optim.Adam(weighting.parameters(), lr=0.01)
    norms, losses = torch.tensor([1.0, 100.0]), torch.tensor([1.0, 1.0])
    for _ in range(1000):
        optimizer.zero_grad()
        run_step(weighting, losses, norms)
        optimizer.step()
        weighting.on_after_optimizer_step()
    w = weighting.weights.detach()
    assert torch.isclose(w.sum(), torch.tensor(2.0))
    # optimum: w_0 * 1 = w_1 * 100 with w_0 + w_1 = 2, i.e. w = (200/101, 2/101); Adam steps of 0.01 jitter
    assert torch.allclose(w, torch.tensor([200 / 101, 2 / 101]), atol=3e-3)


def missing_step(weighting: GradNormWeighting, losses: list[float], present: list[bool]) -> torch.Tensor:
    values = torch.tensor(losses)
    counts = torch.tensor([8.0 if p else 0.0 for p in present])
    stats = GradientStats(
        counts=counts, global_losses=values, grad_norms=torch.tensor([1.0, 2.0, 0.5]) * counts
    )
    out = weighting(values, stats)
    out.extra.backward()
    return out.coefficients


def test_initial_losses_average_only_the_steps_where_each_task_is_present() -> None:
    weighting = GradNormWeighting(TASKS, initial_loss_steps=2)
    missing_step(weighting, [1.0, 0.0, 3.0], [True, False, True])
    missing_step(weighting, [3.0, 4.0, 5.0], [True, True, True])
    missing_step(weighting, [9.0, 6.0, 9.0], [True, True, True])
    assert weighting.initial_count.tolist() == [2, 2, 2]
    assert torch.equal(weighting.initial_losses, torch.tensor([2.0, 5.0, 4.0]))


def test_grad_loss_runs_over_the_present_tasks_and_a_missing_weight_survives_the_optimizer_step() -> None:
    weighting = GradNormWeighting(TASKS, alpha=1.5)
    optimizer = torch.optim.Adam(weighting.parameters(), lr=0.1)
    missing_step(weighting, [2.0, 4.0, 1.0], [True, True, True])  # L(0); momentum for every weight
    optimizer.step()
    weighting.on_after_optimizer_step()
    before = weighting.weights.detach().clone()
    optimizer.zero_grad()
    missing_step(weighting, [1.0, 0.0, 0.9], [True, False, True])
    # the paper's L_grad on tasks a and c alone (norms [1, 0.5] x 8)
    w = before[[0, 2]].clone().requires_grad_(True)
    ratios = torch.tensor([1.0, 0.9]) / torch.tensor([2.0, 1.0])
    g = w * torch.tensor([8.0, 4.0])
    target = (g.mean() * (ratios / ratios.mean()) ** 1.5).detach()
    (g - target).abs().sum().backward()
    assert torch.allclose(weighting.weights.grad, torch.tensor([w.grad[0], 0.0, w.grad[1]]))
    optimizer.step()
    assert float(weighting.weights[1]) != float(before[1]), "Adam's momentum moved the missing weight"
    weighting.on_after_optimizer_step()
    assert float(weighting.weights[1]) == float(before[1])
    assert float(weighting.weights.sum()) == pytest.approx(3.0)
    assert not torch.equal(weighting.weights[[0, 2]], before[[0, 2]])
