from __future__ import annotations

import pytest
import torch

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import GradientStats, UncertaintyWeighting

TASKS = {"cls": TaskSpec("cls", "classification", 3), "reg": TaskSpec("reg", "regression", 1)}


def kendall_objective(log_vars: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
    """The paper's objective written out: exp(-s) L + s/2 (classification), exp(-s) L / 2 + s/2 (regression)."""
    return (torch.exp(-log_vars[0]) * losses[0] + 0.5 * log_vars[0]) + (
        0.5 * torch.exp(-log_vars[1]) * losses[1] + 0.5 * log_vars[1]
    )


def test_one_backward_gives_the_papers_gradients_for_losses_and_log_variances() -> None:
    weighting = UncertaintyWeighting(TASKS, init_log_var=0.3)
    losses = torch.tensor([1.2, 7.0], requires_grad=True)
    out = weighting(losses, GradientStats())
    objective = (out.coefficients * losses).sum() + out.extra
    objective.backward()

    s = torch.tensor([0.3, 0.3], requires_grad=True)
    reference_losses = torch.tensor([1.2, 7.0], requires_grad=True)
    reference = kendall_objective(s, reference_losses)
    reference.backward()
    assert torch.allclose(objective, reference)
    assert torch.allclose(weighting.log_vars.grad, s.grad)
    assert torch.allclose(losses.grad, reference_losses.grad)
    assert torch.allclose(out.coefficients, torch.exp(torch.tensor(-0.3)) * torch.tensor([1.0, 0.5]))


def test_log_variances_are_logged_and_get_their_own_learning_rate() -> None:
    weighting = UncertaintyWeighting(TASKS, init_log_var=-1.0, lr=0.05)
    assert {k: round(float(v), 4) for k, v in weighting.logged_values().items()} == {
        "log_var/cls": -1.0,
        "log_var/reg": -1.0,
    }
    assert weighting.param_groups(base_lr=1.0)[0]["lr"] == 0.05
    assert UncertaintyWeighting(TASKS).param_groups(base_lr=1.0)[0]["lr"] == 1.0


def test_training_moves_log_variance_towards_log_of_the_loss() -> None:
    # for a fixed loss L the optimum of c*exp(-s)*L + s/2 is s* = log(2 c L)
    weighting = UncertaintyWeighting(TASKS)
    optimizer = torch.optim.SGD(weighting.parameters(), lr=0.1)
    losses = torch.tensor([2.0, 8.0])
    for _ in range(500):
        optimizer.zero_grad()
        out = weighting(losses, GradientStats())
        ((out.coefficients * losses).sum() + out.extra).backward()
        optimizer.step()
    assert torch.allclose(weighting.log_vars.detach(), torch.log(torch.tensor([4.0, 8.0])), atol=1e-3)


def test_a_missing_task_has_no_term_and_its_log_variance_survives_the_optimizer_step() -> None:
    weighting = UncertaintyWeighting(TASKS, init_log_var=0.3)
    optimizer = torch.optim.Adam(weighting.parameters(), lr=0.1)
    losses = torch.tensor([1.2, 7.0])
    out = weighting(losses, GradientStats(counts=torch.tensor([5.0, 5.0])))
    ((out.coefficients * losses).sum() + out.extra).backward()
    optimizer.step()  # momentum for both log-variances
    weighting.on_after_optimizer_step()
    before = weighting.log_vars.detach().clone()
    optimizer.zero_grad()
    losses = torch.tensor([1.2, 0.0])
    out = weighting(losses, GradientStats(counts=torch.tensor([5.0, 0.0])))
    assert float(out.extra) == pytest.approx(0.5 * float(before[0]))  # no 0.5 s term for the missing task
    ((out.coefficients * losses).sum() + out.extra).backward()
    assert float(weighting.log_vars.grad[1]) == 0.0
    optimizer.step()
    assert float(weighting.log_vars[1]) != float(before[1]), "Adam's momentum moved it"
    weighting.on_after_optimizer_step()
    assert float(weighting.log_vars[1]) == float(before[1]) and float(weighting.log_vars[0]) != float(
        before[0]
    )
