"""The private torchjd API that mtl_lab/weighting/torchjd_private.py relies on, checked on real torchjd
objects: a torchjd release that renames or removes any of it fails here, naming the attribute and the
version, instead of silently resetting a strategy's state."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
import torch
from torch import nn
from torchjd import aggregation

from mtl_lab.weighting import torchjd_private as private

VERSION = private.TORCHJD_VERSION


def jacobian(seed: int) -> torch.Tensor:
    """Conflicting task gradients of different norms (3 x 4, float64)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.tensor([[1.0, 0.0, 0.0, 0.0], [-0.6, 0.8, 0.0, 0.0], [-0.5, -0.5, 0.7, 0.1]])
    rows = base + 0.3 * torch.randn(3, 4, generator=g)
    return (rows * torch.tensor([[1.0], [4.0], [0.3]])).double()


def gramian(seed: int) -> torch.Tensor:
    matrix = jacobian(seed)
    return matrix @ matrix.T


def nash(every: int = 1) -> private.MonitoredNashMTLWeighting:
    return private.MonitoredNashMTLWeighting(
        n_tasks=3, max_norm=0.0, update_weights_every=every, optim_niter=20
    )


#: One real torchjd object per class whose private attributes are used, and the input of one call.
SOLVERS: dict[str, tuple[Callable[[], nn.Module], torch.Tensor]] = {
    "GradVacWeighting": (aggregation.GradVacWeighting, gramian(0)),
    "PCDWeighting": (aggregation.PCDWeighting, gramian(0)),
    "_NashMTLWeighting": (nash, jacobian(0)),
}


def seeded(solver: nn.Module, value: torch.Tensor) -> torch.Tensor:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return solver(value)


def test_the_private_nash_mtl_module_and_class_exist() -> None:
    try:
        module = importlib.import_module("torchjd.aggregation._nash_mtl")
    except ImportError as err:  # pragma: no cover - only with a torchjd that moved it
        pytest.fail(f"torchjd {VERSION}: torchjd.aggregation._nash_mtl cannot be imported ({err})")
    assert hasattr(module, "_NashMTLWeighting"), f"torchjd {VERSION}: _nash_mtl._NashMTLWeighting is gone"


def test_every_private_attribute_relied_on_exists_after_one_call() -> None:
    assert set(private.PRIVATE_ATTRIBUTES) == set(SOLVERS)
    for class_name, attributes in private.PRIVATE_ATTRIBUTES.items():
        build, value = SOLVERS[class_name]
        solver = build()
        seeded(solver, value)
        for attribute in attributes:
            assert hasattr(solver, attribute), (
                f"torchjd {VERSION}: {class_name}.{attribute} is gone (renamed or removed); "
                "mtl_lab/weighting/torchjd_private.py relies on it"
            )


def test_gradvac_continues_from_a_loaded_phi_hat() -> None:
    uninterrupted = aggregation.GradVacWeighting()
    seeded(uninterrupted, gramian(1))
    phi_hat = private.gradvac_state(uninterrupted).clone()
    assert phi_hat.shape == (3, 3) and phi_hat.abs().sum() > 0, f"torchjd {VERSION}: GradVac's _phi_t"
    expected = seeded(uninterrupted, gramian(2))
    restored = aggregation.GradVacWeighting()
    private.set_gradvac_state(restored, phi_hat)
    assert torch.equal(seeded(restored, gramian(2)), expected), (
        f"torchjd {VERSION}: GradVacWeighting ignored the loaded _phi_t / _state_key"
    )
    assert not torch.equal(seeded(aggregation.GradVacWeighting(), gramian(2)), expected), "the state matters"


def test_pcd_continues_from_a_loaded_moving_average() -> None:
    uninterrupted = aggregation.PCDWeighting(tau=0.5, beta=0.9)
    uninterrupted(gramian(1))
    sq_norm_ema, steps = (t.clone() for t in private.pcd_state(uninterrupted))
    assert sq_norm_ema.shape == (3,) and int(steps) == 1, f"torchjd {VERSION}: PCD's _sq_norm_ema/_n_steps"
    expected = uninterrupted(gramian(2))
    restored = aggregation.PCDWeighting(tau=0.5, beta=0.9)
    private.set_pcd_state(restored, sq_norm_ema, steps)
    assert torch.equal(restored(gramian(2)), expected), (
        f"torchjd {VERSION}: PCDWeighting ignored the loaded _sq_norm_ema / _n_steps / _state_key"
    )
    assert int(private.pcd_state(restored)[1]) == 2
    assert not torch.equal(aggregation.PCDWeighting(tau=0.5, beta=0.9)(gramian(2)), expected)


def test_nash_mtl_continues_from_a_loaded_alpha_and_step_and_counts_its_solves() -> None:
    uninterrupted = nash(every=2)  # call 1 solves, call 2 reuses the previous alpha
    uninterrupted(jacobian(1))
    alpha, step = private.nash_state(uninterrupted)
    assert alpha.shape == (3,) and step == 1, f"torchjd {VERSION}: Nash-MTL's prvs_alpha / step"
    problem = private.nash_problem(uninterrupted)
    assert problem is not None and problem.attempts > 0 and problem.successes > 0, (
        f"torchjd {VERSION}: _NashMTLWeighting no longer builds its problem in _init_optim_problem as prob"
    )
    expected = uninterrupted(jacobian(2))
    restored = nash(every=2)
    private.set_nash_state(restored, alpha, step)
    assert torch.equal(restored(jacobian(2)), expected), (
        f"torchjd {VERSION}: _NashMTLWeighting ignored the loaded prvs_alpha / step"
    )
    assert not torch.allclose(nash(every=2)(jacobian(2)), expected), "the state matters"
    solving = nash(every=1)
    private.set_nash_state(solving, alpha, step)  # step > 0: the problem is built here, not by torchjd
    solving(jacobian(2))
    assert private.nash_state(solving)[1] == 2 and private.nash_problem(solving).attempts > 0
