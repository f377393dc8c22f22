"""Missing labels, for EVERY registered weighting (built with its defaults on 3 tasks of different kinds):
a task with count 0 in a step keeps its coefficient and every entry of the strategy's state, the present
tasks are treated as if it did not exist, a step without any labelled task changes nothing, and stats
without counts behave as all present."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
import torch
from torch import Tensor

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import WEIGHTINGS, GradientStats, Weighting

K = 3
MISSING = 1
# 4 classes and 2 labels: no state tensor of any strategy has a dimension of size 3 other than the tasks'
TASKS = {
    "a": TaskSpec("a", "classification", 4),
    "b": TaskSpec("b", "regression", 1),
    "c": TaskSpec("c", "multilabel", 2),
}
#: No state and constant coefficients: nothing to update for the present tasks either.
CONSTANT = {"fixed"}
#: Draws one number per task whatever is missing (the sequence must not depend on the labels).
DRAWS_ALL_TASKS = {"rlw"}


def random_step(
    generator: torch.Generator, present: Sequence[bool] = (True,) * K
) -> tuple[Tensor, GradientStats]:
    """Losses and every statistic of one step, from random per-task gradients of different scales; a
    missing task has count 0, loss 0, a zero gradient (zero Gramian row/column, zero norm)."""
    mask = torch.tensor(present)
    jacobian = torch.randn(K, 8, generator=generator) * torch.tensor([[1.0], [3.0], [0.5]])
    jacobian[~mask] = 0.0
    losses = torch.where(mask, torch.rand(K, generator=generator) * 2 + 0.1, 0.0)
    counts = torch.where(mask, torch.randint(1, 64, (K,), generator=generator).float(), 0.0)
    stats = GradientStats(
        counts=counts,
        global_losses=losses.clone(),
        grad_norms=jacobian.norm(dim=1),
        gramian=jacobian @ jacobian.T,
    )
    return losses, stats


def make(name: str, tasks: dict[str, TaskSpec] = TASKS) -> tuple[Weighting, torch.optim.Optimizer | None]:
    weighting = WEIGHTINGS.build({"name": name}, tasks=tasks)
    groups = weighting.param_groups(base_lr=0.05)
    return weighting, torch.optim.Adam(groups) if groups else None


def train_step(
    weighting: Weighting, optimizer: torch.optim.Optimizer | None, losses: Tensor, stats: GradientStats
) -> Tensor:
    """What the module does: weighting, one backward of the objective, the optimizer step, the hook."""
    losses = losses.clone().requires_grad_(True)
    out = weighting(losses, stats)
    if optimizer is not None:
        optimizer.zero_grad()
        ((out.coefficients * losses).sum() + out.extra).backward()
        optimizer.step()
    weighting.on_after_optimizer_step()
    return out.coefficients


def warmed_up(name: str) -> tuple[Weighting, torch.optim.Optimizer | None, torch.Generator]:
    """Six steps with every task present, over three epochs (DWA leaves its equal weights), so that
    EMAs, logits and the optimizer's momentum are all under way."""
    weighting, optimizer = make(name)
    generator = torch.Generator().manual_seed(0)
    for step in range(6):
        train_step(weighting, optimizer, *random_step(generator))
        if step % 2 == 1:
            weighting.on_train_epoch_end()
    return weighting, optimizer, generator


def snapshot(weighting: Weighting) -> dict[str, Tensor]:
    return {key: value.detach().clone() for key, value in weighting.state_dict().items()}


def task_slices(state: dict[str, Tensor], task: int) -> dict[str, Tensor]:
    """Every entry belonging to ``task``: the slice at ``task`` along each dimension of size K (a K x K
    tensor gives its row and its column)."""
    return {
        f"{key}[dim {dim}]": value.select(dim, task)
        for key, value in state.items()
        for dim, size in enumerate(value.shape)
        if size == K
    }


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_a_missing_task_keeps_its_coefficient_and_its_state(name: str) -> None:
    weighting, optimizer, generator = warmed_up(name)
    before, previous = snapshot(weighting), weighting.current_coefficients().clone()
    present = [task != MISSING for task in range(K)]
    coefficients = train_step(weighting, optimizer, *random_step(generator, present))
    after = snapshot(weighting)

    assert torch.isfinite(coefficients).all(), coefficients
    assert float(coefficients[MISSING]) == float(previous[MISSING])
    kept, now = task_slices(before, MISSING), task_slices(after, MISSING)
    assert kept, f"{name} has no per-task state to check"
    for key, value in kept.items():
        assert torch.equal(now[key], value), f"{name}: {key} of the missing task changed"
    if name in CONSTANT:
        assert torch.equal(coefficients, previous) and all(
            torch.equal(after[k], v) for k, v in before.items()
        )
        return
    moved = [
        key
        for task in range(K)
        if task != MISSING
        for key, value in task_slices(before, task).items()
        if not torch.equal(task_slices(after, task)[key], value)
    ]
    assert moved, f"{name}: nothing of the present tasks was updated"


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_a_step_without_any_labelled_task_changes_nothing(name: str) -> None:
    weighting, optimizer, generator = warmed_up(name)
    before, previous = snapshot(weighting), weighting.current_coefficients().clone()
    coefficients = train_step(weighting, optimizer, *random_step(generator, (False,) * K))
    assert torch.equal(coefficients, previous)
    after = snapshot(weighting)
    for key, value in before.items():
        assert torch.equal(after[key], value), f"{name}: {key} changed"


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_stats_without_counts_behave_as_every_task_present(name: str) -> None:
    counted, counted_optimizer = make(name)
    uncounted, uncounted_optimizer = make(name)
    generator = torch.Generator().manual_seed(3)
    for _ in range(4):
        losses, stats = random_step(generator)
        expected = train_step(counted, counted_optimizer, losses, stats)
        stats.counts = None
        assert torch.equal(train_step(uncounted, uncounted_optimizer, losses, stats), expected)
    state = snapshot(counted)
    assert all(torch.equal(value, state[key]) for key, value in snapshot(uncounted).items())


@pytest.mark.parametrize("name", [n for n in WEIGHTINGS.names() if n not in DRAWS_ALL_TASKS])
def test_a_task_missing_in_every_step_is_as_if_it_did_not_exist(name: str) -> None:
    """Three tasks with b never labelled give a and c the coefficients of the same strategy on a and c."""
    three, three_optimizer = make(name)
    two, two_optimizer = make(name, {t: TASKS[t] for t in ("a", "c")})
    generator = torch.Generator().manual_seed(5)
    kept = three.current_coefficients()[MISSING].clone()
    for step in range(5):
        losses, stats = random_step(generator, (True, False, True))
        rows = [0, 2]
        reduced = GradientStats(
            counts=stats.counts[rows],
            global_losses=stats.global_losses[rows],
            grad_norms=stats.grad_norms[rows],
            gramian=stats.gramian[rows][:, rows],
        )
        ours = train_step(three, three_optimizer, losses, stats)
        expected = train_step(two, two_optimizer, losses[rows], reduced)
        assert torch.allclose(ours[rows], expected, rtol=1e-5, atol=1e-6), (step, ours, expected)
        assert float(ours[MISSING]) == float(kept)
        if step % 2 == 1:
            three.on_train_epoch_end()
            two.on_train_epoch_end()


@pytest.mark.parametrize(
    ("name", "counters"),
    [
        ("dwa", ["epoch_steps", "completed_epochs"]),
        ("famo", ["adam_steps", "has_previous"]),
        ("gradnorm", ["initial_count"]),
        ("dbmtl", ["steps"]),
    ],
)
def test_a_checkpoint_with_scalar_counters_loads_them_on_every_task(name: str, counters: list[str]) -> None:
    """Checkpoints written before the counters were per task hold one scalar each."""
    weighting, _ = make(name)
    state = weighting.state_dict()
    for counter in counters:
        state[counter] = torch.ones((), dtype=state[counter].dtype)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    weighting.load_state_dict(torch.load(buffer, weights_only=True))
    for counter in counters:
        assert getattr(weighting, counter).tolist() == [1] * K, counter
