"""Every use of torchjd's private API, in one place (torchjd 0.18; checked by tests/weighting/
test_torchjd_private.py, which names the attribute and the torchjd version when a release changes it).

The stateful torchjd weightings keep their state in private attributes, and torchjd's Nash-MTL weighting
is only public inside the ``NashMTL`` aggregator. The adapter (:mod:`mtl_lab.weighting.torchjd_adapter`)
keeps that state in its own buffers and moves it in and out through the small functions below, for the
present tasks of a step only:

- GradVac: ``_phi_t`` (the m x m EMA targets phi_hat), ``_state_key`` ((m, dtype): torchjd resets
  ``_phi_t`` when it differs);
- PCD: ``_sq_norm_ema`` ([m] EMA of squared norms), ``_n_steps`` (its bias-correction count),
  ``_state_key`` (m);
- Nash-MTL (``torchjd.aggregation._nash_mtl._NashMTLWeighting``): ``prvs_alpha`` (numpy [m]), ``step``
  (float call counter; the cvxpy problem is built at step 0), ``prob`` (the cvxpy problem),
  ``_init_optim_problem`` (builds it).
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchjd import aggregation
from torchjd.aggregation._nash_mtl import _NashMTLWeighting

TORCHJD_VERSION: str = version("torchjd")

#: The private attributes relied on, per torchjd class (present on an instance after one call).
PRIVATE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "GradVacWeighting": ("_phi_t", "_state_key"),
    "PCDWeighting": ("_sq_norm_ema", "_n_steps", "_state_key"),
    "_NashMTLWeighting": ("prvs_alpha", "step", "prob", "_init_optim_problem"),
}


# ---------------------------------------------------------------------------------------------- GradVac
def set_gradvac_state(solver: aggregation.GradVacWeighting, phi_hat: Tensor) -> None:
    """Load the m x m EMA targets phi_hat (float64, CPU) so that torchjd does not reset them."""
    solver._phi_t = phi_hat.detach().to("cpu", torch.float64).clone()
    solver._state_key = (phi_hat.shape[0], torch.float64)


def gradvac_state(solver: aggregation.GradVacWeighting) -> Tensor:
    """The m x m EMA targets after a call."""
    return solver._phi_t


# ---------------------------------------------------------------------------------------------- PCD
def set_pcd_state(solver: aggregation.PCDWeighting, sq_norm_ema: Tensor, n_steps: Tensor) -> None:
    """Load the [m] EMA of squared gradient norms and its bias-correction step count."""
    solver._sq_norm_ema = sq_norm_ema.detach().to("cpu", torch.float64).clone()
    solver._n_steps = n_steps.detach().cpu().clone()
    solver._state_key = sq_norm_ema.shape[0]


def pcd_state(solver: aggregation.PCDWeighting) -> tuple[Tensor, Tensor]:
    """(EMA of squared norms [m], step count) after a call."""
    return solver._sq_norm_ema, solver._n_steps


# ---------------------------------------------------------------------------------------------- Nash-MTL
class MonitoredProblem:
    """Wraps torchjd's cvxpy problem to count solves that raise or end without an optimal status
    (torchjd catches the exception and silently reuses the previous alpha)."""

    OK = ("optimal", "optimal_inaccurate")

    def __init__(self, problem: Any) -> None:
        self.problem = problem
        self.attempts = 0
        self.successes = 0

    def solve(self, *args: Any, **kwargs: Any) -> Any:
        self.attempts += 1
        with warnings.catch_warnings():  # torchjd's problem is not DPP: cvxpy warns at every solve
            warnings.filterwarnings("ignore", message=".*not DPP.*")
            result = self.problem.solve(*args, **kwargs)  # exceptions propagate to torchjd's handler
        if self.problem.status in self.OK:
            self.successes += 1
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.problem, name)


class MonitoredNashMTLWeighting(_NashMTLWeighting):
    """torchjd's Nash-MTL weighting whose cvxpy problem counts its failed solves."""

    prob: MonitoredProblem

    def _init_optim_problem(self) -> None:
        super()._init_optim_problem()
        self.prob = MonitoredProblem(self.prob)


def set_nash_state(solver: _NashMTLWeighting, prev_alpha: Tensor, step: int) -> None:
    """Load the previous alpha ([m]) and the call counter; build the cvxpy problem if the counter is past
    0 (a restored checkpoint, or a solver for a new number of present tasks): torchjd builds it only at
    step 0."""
    solver.prvs_alpha = prev_alpha.detach().cpu().numpy().astype(np.float64).copy()
    solver.step = float(step)
    if solver.step > 0 and getattr(solver, "prob", None) is None:
        solver._init_optim_problem()


def nash_state(solver: _NashMTLWeighting) -> tuple[Tensor, int]:
    """(previous alpha [m] float64, call counter) after a call."""
    return torch.from_numpy(np.asarray(solver.prvs_alpha, dtype=np.float64).copy()), int(solver.step)


def nash_problem(solver: MonitoredNashMTLWeighting) -> MonitoredProblem | None:
    """The monitored cvxpy problem (None before the first call)."""
    return getattr(solver, "prob", None)
