"""Nash-MTL: Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022.

alpha > 0 solves the bargaining condition G alpha = 1/alpha (element-wise, G the Gramian), by
``optim_niter`` sequential convex (ECOS) steps on G / ||G||_F; the update direction alpha^T J is clipped
to norm ``max_norm`` (0: no clipping); alpha is recomputed every ``update_weights_every`` calls. Stateful
(previous alpha, step; buffers ``prev_alpha``, ``solver_step``).

torchjd's ``_NashMTLWeighting`` takes J itself but only uses it through J J^T and ||alpha^T J||, which
the symmetric square root S = G^1/2 (S S^T = G) preserves: it is fed S. Needs the extra
``pip install "torchjd[nash_mtl]"`` (cvxpy, ECOS), else a ConfigError at construction.

Solver failures (torchjd swallows them and reuses the previous alpha) are counted: a call whose solves
all failed is a failed step; the first one warns, ``solver_failures`` (total) is logged as
``train/nash_mtl/solver_failures``, and ``max_failed_steps`` consecutive failed steps raise
:class:`NashSolverError` (0: never raise).

Missing tasks: torchjd's object is built for a fixed number of tasks, so one is kept per number m of
present tasks; it is fed the present tasks' previous alpha entries and the shared step, and writes them
back (a missing task's entry is unchanged). One present task (torchjd's cvxpy problem cannot be built
for m = 1): the method's answer for K = 1, written out — the normalised 1 x 1 Gramian is 1, so alpha = 1,
then clipped to ``max_norm`` / ||g||; the state is left as it is.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.torchjd_adapter import STATE_DTYPE, TorchJDWeighting, register
from mtl_lab.weighting.torchjd_private import (
    MonitoredNashMTLWeighting,
    nash_problem,
    nash_state,
    set_nash_state,
)


class NashSolverError(RuntimeError):
    """Nash-MTL's convex solver failed on too many consecutive steps."""


@register
class NashMTL(TorchJDWeighting):
    """Nash-MTL (Navon et al. 2022): the Nash bargaining solution G alpha = 1 / alpha."""

    key = "nash_mtl"
    stateful = True
    torchjd_class = MonitoredNashMTLWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        max_norm: float = 1.0,
        update_weights_every: int = 1,
        optim_niter: int = 20,
        max_failed_steps: int = 10,
        grad_level: str = "representation",
    ) -> None:
        if max_failed_steps < 0:
            raise ConfigError(f"weighting.max_failed_steps: must be >= 0, got {max_failed_steps}")
        k = len(tasks)
        super().__init__(
            tasks,
            grad_level,
            {
                "n_tasks": k,
                "max_norm": max_norm,
                "update_weights_every": update_weights_every,
                "optim_niter": optim_niter,
            },
        )
        self.max_failed_steps = int(max_failed_steps)
        self.register_buffer("prev_alpha", torch.ones(k, dtype=STATE_DTYPE))
        self.register_buffer("solver_step", torch.zeros((), dtype=torch.long))
        self.register_buffer("solver_failures", torch.zeros((), dtype=torch.long))
        self.register_buffer("consecutive_failures", torch.zeros((), dtype=torch.long))
        self._warned = False

    def solver_for(self, present: list[int]) -> nn.Module:
        if len(present) == self.num_tasks:
            return self.solver
        return self.cached_solver(len(present), {**self.torchjd_kwargs, "n_tasks": len(present)})

    def load_solver_state(self, solver: nn.Module, present: list[int]) -> None:
        set_nash_state(solver, self.prev_alpha[present], int(self.solver_step))

    def store_solver_state(self, solver: nn.Module, present: list[int]) -> None:
        alpha, step = nash_state(solver)
        self.prev_alpha[torch.tensor(present, device=self.prev_alpha.device)] = alpha.to(self.prev_alpha)
        self.solver_step.fill_(step)

    def solve(self, gramian: Tensor, present: list[int]) -> Tensor:
        if len(present) == 1:
            return self._single_task_alpha(gramian)
        eigenvalues, eigenvectors = torch.linalg.eigh(gramian)
        root = eigenvectors @ torch.diag(eigenvalues.clamp_min(0).sqrt()) @ eigenvectors.T
        solver = self.solver_for(present)
        self.load_solver_state(solver, present)
        weights = solver(root)
        self.store_solver_state(solver, present)
        monitor = nash_problem(solver)
        if monitor is not None and monitor.attempts > 0:
            self._record(failed=monitor.successes == 0)
            monitor.attempts = monitor.successes = 0
        return weights

    def _single_task_alpha(self, gramian: Tensor) -> Tensor:
        """alpha = 1 (the bargaining solution of the normalised 1 x 1 Gramian), clipped to max_norm."""
        norm = math.sqrt(max(float(gramian[0, 0]), 0.0))
        max_norm = float(self.torchjd_kwargs["max_norm"])
        alpha = max_norm / norm if max_norm > 0 and norm > max_norm else 1.0
        return torch.tensor([alpha], dtype=STATE_DTYPE)

    def _record(self, failed: bool) -> None:
        if not failed:
            self.consecutive_failures.zero_()
            return
        self.solver_failures += 1
        self.consecutive_failures += 1
        if not self._warned:
            warnings.warn(
                "nash_mtl: the ECOS solver failed; the previous alpha is reused "
                "(counted in train/nash_mtl/solver_failures)",
                RuntimeWarning,
                stacklevel=2,
            )
            self._warned = True
        if self.max_failed_steps and int(self.consecutive_failures) >= self.max_failed_steps:
            raise NashSolverError(
                f"nash_mtl: the ECOS solver failed on {int(self.consecutive_failures)} consecutive steps "
                f"(weighting.max_failed_steps={self.max_failed_steps})"
            )

    def logged_values(self) -> dict[str, Tensor]:
        return {"nash_mtl/solver_failures": self.solver_failures.float()}
