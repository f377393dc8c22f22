from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from conftest import SMALL_CNN
from omegaconf import DictConfig

from mtl_lab.errors import ConfigError
from mtl_lab.experiment import run_experiment
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import FAMOWeighting, GradientStats

TASKS = {t: TaskSpec(t, "regression", 1) for t in ("a", "b", "c")}


class PaperFAMO:
    """The official algorithm (Cranial-XIX/FAMO, famo.py) written out with autograd and torch.optim.Adam."""

    def __init__(self, n: int, lr: float, gamma: float, min_losses: torch.Tensor) -> None:
        self.w = torch.zeros(n, requires_grad=True)
        self.optimizer = torch.optim.Adam([self.w], lr=lr, weight_decay=gamma)
        self.min_losses = min_losses

    def coefficients(self, losses: torch.Tensor) -> torch.Tensor:
        """d/dL of the weighted log-loss sum_k (z_k / c) log D_k, c = sum_k z_k / D_k held constant."""
        losses = losses.clone().requires_grad_(True)
        z = F.softmax(self.w, -1).detach()
        d = losses - self.min_losses + 1e-8
        c = (z / d).sum().detach()
        (grad,) = torch.autograd.grad((d.log() * z / c).sum(), losses)
        return grad

    def update(self, previous: torch.Tensor, current: torch.Tensor) -> None:
        delta = (previous - self.min_losses + 1e-8).log() - (current - self.min_losses + 1e-8).log()
        (d,) = torch.autograd.grad(F.softmax(self.w, -1), self.w, grad_outputs=delta)
        self.optimizer.zero_grad()
        self.w.grad = d
        self.optimizer.step()


def step(weighting: FAMOWeighting, losses: list[float] | torch.Tensor) -> torch.Tensor:
    losses = torch.as_tensor(losses, dtype=torch.float32)
    return weighting(losses, GradientStats(global_losses=losses)).coefficients


def test_coefficients_and_logits_follow_the_papers_algorithm_step_by_step() -> None:
    generator = torch.Generator().manual_seed(0)
    losses = torch.rand(8, 3, generator=generator) * torch.tensor([0.5, 5.0, 50.0]) + 0.2
    min_losses = torch.tensor([0.0, 0.1, 0.0])
    ours = FAMOWeighting(TASKS, lr=0.1, weight_decay=0.01, min_losses={"b": 0.1})
    paper = PaperFAMO(3, lr=0.1, gamma=0.01, min_losses=min_losses)
    for t in range(len(losses)):
        if t > 0:  # the paper's update with L(t+1) = the next step's loss
            paper.update(losses[t - 1], losses[t])
        assert torch.allclose(step(ours, losses[t]), paper.coefficients(losses[t]), rtol=1e-5, atol=1e-7)
        assert torch.allclose(ours.logits, paper.w.detach(), atol=1e-6)
    assert ours.logits.abs().min() > 0.01, "the logits moved"
    assert ours.adam_steps.tolist() == [len(losses) - 1] * 3


def test_coefficients_are_softmax_weights_over_the_losses_normalised_to_one() -> None:
    weighting = FAMOWeighting({t: TASKS[t] for t in ("a", "b")})
    # logits 0: z = [1/2, 1/2]; c ∝ z / L = [1/2, 1/8] -> [0.8, 0.2]
    assert step(weighting, [1.0, 4.0]).tolist() == pytest.approx([0.8, 0.2], rel=1e-6)


def test_the_task_whose_log_loss_fell_less_gains_logit() -> None:
    weighting = FAMOWeighting({t: TASKS[t] for t in ("a", "b")}, lr=0.025, weight_decay=0.0)
    step(weighting, [1.0, 1.0])
    step(weighting, [0.5, 1.0])  # task a improved by log 2, task b not at all
    # the first Adam step moves each logit by lr against the sign of its gradient z*(delta - <z, delta>)
    assert weighting.logits.tolist() == pytest.approx([-0.025, 0.025], rel=1e-4)
    # z_b / z_a = e^0.05, c ∝ z / L = [z_a / 0.5, z_b]: b gets more than its share 1/3 at equal z
    share = math.exp(0.05) / (2 + math.exp(0.05))
    assert float(weighting.current_coefficients()[1]) == pytest.approx(share, rel=1e-4) and share > 1 / 3


def test_non_finite_losses_leave_the_logits_and_history_unchanged() -> None:
    weighting = FAMOWeighting(TASKS)
    step(weighting, [1.0, 2.0, 3.0])
    step(weighting, [0.5, 2.0, 3.0])
    before = {k: v.clone() for k, v in weighting.state_dict().items() if k != "weights"}
    step(weighting, [float("nan"), 1.0, 1.0])
    assert all(torch.equal(v, weighting.state_dict()[k]) for k, v in before.items())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 0.0}, "weighting.lr: must be > 0, got 0.0"),
        ({"weight_decay": -1.0}, "weighting.weight_decay: must be >= 0, got -1.0"),
        ({"min_losses": {"d": 0.1}}, "weighting.min_losses: unknown task (not a selected task) 'd'"),
        ({"min_losses": {"a": float("inf")}}, "weighting.min_losses.a: must be a finite number, got inf"),
    ],
)
def test_bad_settings_fail_with_one_line(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FAMOWeighting(TASKS, **kwargs)


def test_training_run_moves_the_logits(make_config: Callable[..., DictConfig]) -> None:
    summary = run_experiment(make_config("weighting=famo", *SMALL_CNN, "trainer.max_epochs=1"))
    assert summary.status == "completed"
    assert all(math.isfinite(v) for v in summary.metrics.values())
    assert sum(summary.weights.values()) == pytest.approx(1.0, rel=1e-5)
    logits = [summary.metrics[f"train/famo_logit/{t}"] for t in ("left", "right", "sum")]
    assert all(logit != 0.0 for logit in logits)


def test_a_task_missing_in_a_step_is_updated_later_from_its_own_previous_log_loss() -> None:
    weighting = FAMOWeighting(TASKS)
    counts = {True: 8.0, False: 0.0}
    outputs = []
    for losses, present in (([1.0, 2.0, 3.0], [True] * 3), ([0.5, 0.0, 3.0], [True, False, True])):
        values = torch.tensor(losses)
        stats = GradientStats(counts=torch.tensor([counts[p] for p in present]), global_losses=values)
        outputs.append(weighting(values, stats))
    first, out = outputs
    assert float(first.coefficients[1]) == pytest.approx(0.5 / (1 + 0.5 + 1 / 3), rel=1e-6)
    assert float(out.coefficients[1]) == float(first.coefficients[1])  # kept
    assert float(out.coefficients[[0, 2]].sum()) == pytest.approx(1.0)  # normalised over the present
    assert weighting.adam_steps.tolist() == [1, 0, 1] and weighting.has_previous.tolist() == [True] * 3
    assert float(weighting.previous_log_losses[1]) == pytest.approx(math.log(2.0))
    assert float(weighting.logits[1]) == 0.0 and float(weighting.adam_exp_avg[1]) == 0.0
    step(weighting, [0.5, 2.0, 3.0])  # b is back: delta_b = log 2 - log 2 = 0 against its own history
    assert weighting.adam_steps.tolist() == [2, 1, 2]
    # every delta is 0 and xi_b = 0: b's first Adam step has a zero gradient (a delta from the zero loss of
    # the step it missed would be log 2 - log 1e-8 and move it)
    assert float(weighting.logits[1]) == 0.0 and float(weighting.logits[0]) != 0.0
