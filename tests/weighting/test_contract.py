"""Contract of every registered weighting (parametrized over the registry)."""

from __future__ import annotations

import io

import pytest
import torch

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import WEIGHTINGS, GradientStats, Weighting

TASKS = {
    "a": TaskSpec("a", "classification", 3),
    "b": TaskSpec("b", "regression", 1),
    "c": TaskSpec("c", "multilabel", 2),
}


def stats_for(weighting: Weighting, losses: torch.Tensor) -> GradientStats:
    g = torch.Generator().manual_seed(0)
    grads = torch.randn(3, 10, generator=g)
    return GradientStats(
        global_losses=losses.detach() if "global_losses" in weighting.requires else None,
        grad_norms=grads.norm(dim=1) if "grad_norms" in weighting.requires else None,
        gramian=grads @ grads.T if "gramian" in weighting.requires else None,
    )


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_coefficients_are_finite_detached_and_one_per_task(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    out = weighting(losses, stats_for(weighting, losses))
    assert out.coefficients.shape == (3,)
    assert torch.isfinite(out.coefficients).all() and (out.coefficients >= 0).all()
    assert not out.coefficients.requires_grad
    assert out.extra.shape == () and torch.isfinite(out.extra)
    assert torch.equal(weighting.current_coefficients(), out.coefficients)
    assert weighting.requires <= {"global_losses", "grad_norms", "gramian"}


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_learnable_state_gets_gradient_only_through_extra_and_has_its_own_group(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    out = weighting(losses, stats_for(weighting, losses))
    objective = (out.coefficients * losses).sum() + out.extra
    objective.backward()
    # d objective / d L_t is the coefficient: the strategy's own term never backpropagates into the losses
    assert torch.allclose(losses.grad, out.coefficients)
    params = list(weighting.parameters())
    groups = weighting.param_groups(base_lr=0.1)
    assert {id(p) for g in groups for p in g["params"]} == {id(p) for p in params}
    assert all(g["weight_decay"] == 0.0 for g in groups)


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_state_round_trips_through_a_checkpoint(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    with torch.no_grad():
        for p in weighting.parameters():
            p.add_(torch.linspace(0.1, 0.3, p.numel()).reshape(p.shape))
    weighting(losses, stats_for(weighting, losses))
    buffer = io.BytesIO()
    torch.save(weighting.state_dict(), buffer)
    buffer.seek(0)
    restored = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(restored.current_coefficients(), weighting.current_coefficients())
    for key, value in weighting.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value)


def _permuted_stats(stats: GradientStats, order: list[int]) -> GradientStats:
    def rows(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[order]

    gramian = None if stats.gramian is None else stats.gramian[order][:, order]
    return GradientStats(
        global_losses=rows(stats.global_losses), grad_norms=rows(stats.grad_norms), gramian=gramian
    )


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_coefficients_satisfy_the_declared_normalization(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    coefficients = weighting(losses, stats_for(weighting, losses)).coefficients
    expected = {"sum_to_one": 1.0, "sum_to_num_tasks": 3.0}.get(weighting.normalization)
    assert weighting.normalization in ("sum_to_one", "sum_to_num_tasks", "none")
    if expected is not None:
        assert float(coefficients.sum()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "name", [n for n in WEIGHTINGS.names() if WEIGHTINGS.resolve(n).permutation_invariant]
)
def test_relabelling_the_tasks_permutes_the_coefficients(name: str) -> None:
    order = [2, 0, 1]
    permuted_tasks = {k: TASKS[k] for k in [list(TASKS)[i] for i in order]}
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    permuted = WEIGHTINGS.build({"name": name}, tasks=permuted_tasks)
    for _ in range(3):  # a few steps, so that stateful strategies move away from their initial state
        stats = stats_for(weighting, losses)
        original = weighting(losses, stats).coefficients
        relabelled = permuted(losses[order], _permuted_stats(stats, order)).coefficients
        weighting.on_after_optimizer_step()
        permuted.on_after_optimizer_step()
        assert torch.allclose(relabelled, original[order], atol=1e-5)
