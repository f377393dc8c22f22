"""The torchjd adapter under missing labels: the method runs on the present tasks' sub-Gramian (one
present task: the method's weight for K = 1; a preference vector restricted to the present tasks;
Nash-MTL keeps one torchjd solver per number of present tasks). The generic rules (state and
coefficients of a missing task kept, no present task changes nothing) are in test_missing_labels.py."""

from __future__ import annotations

import pytest
import torch

from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import WEIGHTINGS, GradientStats, TorchJDWeighting

TASKS = {t: TaskSpec(t, "regression", 1) for t in ("a", "b", "c")}
TORCHJD_BACKED = [n for n in WEIGHTINGS.names() if issubclass(WEIGHTINGS.resolve(n), TorchJDWeighting)]


def gramian_of(*rows: list[float]) -> torch.Tensor:
    jacobian = torch.tensor(rows)
    return jacobian @ jacobian.T


def one_present(gramian: torch.Tensor, task: int) -> GradientStats:
    counts = torch.zeros(3)
    counts[task] = 4.0
    return GradientStats(counts=counts, gramian=gramian)


@pytest.mark.parametrize("name", TORCHJD_BACKED)
def test_one_present_task_gets_the_methods_weight_for_one_task(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    gramian = gramian_of([1.0, 0.5], [2.0, -1.0], [0.3, 0.3])
    previous = weighting(torch.ones(3), GradientStats(gramian=gramian)).coefficients
    out = weighting(torch.ones(3), one_present(gramian, 1))
    if name == "nash_mtl":  # alpha = 1 for the normalised 1 x 1 Gramian, clipped to max_norm / ||g_1||
        expected = 1.0 / gramian[1, 1].sqrt()
    else:
        reference = type(weighting).torchjd_class(**weighting.torchjd_kwargs)
        expected = reference(gramian[1:2, 1:2].double())[0]
    assert float(out.coefficients[1]) == pytest.approx(float(expected), rel=1e-5)
    assert out.coefficients[[0, 2]].tolist() == previous[[0, 2]].tolist()
    assert int(weighting.calls) == 2


def test_a_preference_vector_is_restricted_to_the_present_tasks() -> None:
    weighting = WEIGHTINGS.build(
        {"name": "upgrad", "pref_vector": {"a": 1.0, "b": 2.0, "c": 3.0}}, tasks=TASKS
    )
    # orthogonal gradients: nothing to project, the weights are the (restricted) preference itself
    out = weighting(torch.ones(3), GradientStats(counts=torch.tensor([2.0, 0.0, 2.0]), gramian=torch.eye(3)))
    assert out.coefficients.tolist() == pytest.approx([1.0, 1 / 3, 3.0])
    assert weighting.solver.pref_vector.tolist() == [1.0, 2.0, 3.0]


def test_nash_mtl_keeps_one_solver_per_number_of_present_tasks() -> None:
    weighting = WEIGHTINGS.build({"name": "nash_mtl"}, tasks=TASKS)
    gramian = gramian_of([1.0, 0.2, 0.0], [-0.5, 2.0, 0.1], [0.1, 0.1, 0.3])
    weighting(torch.ones(3), GradientStats(gramian=gramian))
    alpha = weighting.prev_alpha.clone()
    weighting(torch.ones(3), GradientStats(counts=torch.tensor([3.0, 3.0, 0.0]), gramian=gramian))
    assert list(weighting.subset_solvers) == [2] and weighting.subset_solvers[2].n_tasks == 2
    assert float(weighting.prev_alpha[2]) == float(alpha[2]) and int(weighting.solver_step) == 2
    assert not torch.equal(weighting.prev_alpha[:2], alpha[:2])
    weighting(torch.ones(3), GradientStats(gramian=gramian))
    assert int(weighting.solver_step) == 3 and weighting.solver.step == 3
