"""Gramian-based weightings through torchjd (``torchjd.aggregation.*Weighting``), not written again.

Each strategy turns the K x K Gramian G = J J^T of the per-task gradients J (rows g_k, measured by the
module at :attr:`grad_level`, reduced over DDP ranks and unscaled under a grad scaler) into weights w;
the module then backpropagates ``sum_k w_k L_k`` once, whose gradient at the measured level is exactly
the aggregation ``w^T J`` of the method (exact at ``grad_level: params``; at the default
``representation`` the Gramian is that of the gradients w.r.t. the shared features, from one small
backward pass through the heads, or one per task where the architecture has no per-task views).
:class:`TorchJDWeighting` is the one adapter; each registered subclass fixes the torchjd class, its
hyper-parameters (``conf/weighting/<name>.yaml``) and its paper.

Adapter contract:

- torchjd runs on the CPU in float64 (K x K is tiny; several methods call numpy solvers anyway); the
  coefficients are its weights, detached, float32, on the Gramian's device.
- Randomness (PCGrad, GradVac draw ``torch.randperm`` from the global CPU RNG): every call runs under
  ``torch.random.fork_rng`` with the CPU generator seeded from (``seed``, call counter), so all DDP ranks
  draw the same permutations, the training RNG stream is untouched, and a restored checkpoint continues
  the sequence. Only the CPU generator is seeded (torchjd runs on the CPU): ``torch.manual_seed`` would
  also reseed the CUDA generators, which ``fork_rng(devices=[])`` does not restore.
- State (GradVac's EMA targets, PCD's EMA of squared norms, Nash-MTL's previous alpha and step) lives in
  buffers of this module, loaded into torchjd before and read back after every call: it is in the
  ``state_dict`` and restored by checkpoints. The torchjd object itself is deliberately not a submodule.
- A non-finite Gramian (fp16 overflow) leaves coefficients and state unchanged for that step; before
  the first step the coefficients are 1/K.
- Stateful strategies advance once per training-step call, i.e. once per micro-batch under gradient
  accumulation (each micro-batch's own Gramian).

Left out of torchjd's weightings: ``Krum`` (byzantine-robust selection of one row: no MTL meaning),
``Mean``/``Sum``/``Constant`` (== ``fixed``), ``Random`` (RLW is a loss-level strategy), ``ExcessMTL``
(accumulates element-wise squared gradients: needs the full Jacobian, not the Gramian), ``MoDo`` and
``SDMGrad`` (need J_1 J_2^T from two independent mini-batches), ``CRMOGM`` (an EMA wrapper around another
weighting, not a strategy of its own); ``ConFIG``, ``GradDrop``, ``TrimmedMean`` have no Gramian form.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import Tensor
from torchjd import aggregation
from torchjd.aggregation._nash_mtl import _NashMTLWeighting

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput

STATE_DTYPE = torch.float64


class TorchJDWeighting(Weighting):
    """Adapter: coefficients = ``torchjd_weighting(G)`` for the K x K Gramian G of the step."""

    requires = frozenset({"gramian"})
    #: Registered name (``weighting=<key>``), used in error messages.
    key: ClassVar[str] = ""
    #: The torchjd weighting class, built with the subclass's hyper-parameters.
    torchjd_class: ClassVar[type[torch.nn.Module]]
    #: torchjd keeps state across calls (mirrored in this module's buffers).
    stateful: ClassVar[bool] = False

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        grad_level: str,
        torchjd_kwargs: Mapping[str, Any],
        seed: int | None = 0,
    ) -> None:
        super().__init__(tasks, grad_level=grad_level)
        if seed is not None and seed < 0:
            raise ConfigError(f"weighting.seed: must be >= 0 or null, got {seed}")
        try:
            solver = self.torchjd_class(**torchjd_kwargs)
            self.torchjd_kwargs = dict(torchjd_kwargs)
        except ImportError as err:  # torchjd's optional extras: one line naming the pip extra
            raise ConfigError(f"weighting.name={self.key}: {err}") from err
        except ValueError as err:  # torchjd's own range checks on the hyper-parameters
            raise ConfigError(f"weighting.name={self.key}: {err}") from err
        # a plain attribute, not a submodule: it must not be moved to the GPU nor appear in state_dict
        self.__dict__["solver"] = solver
        self.seed = int(seed or 0)  # null (an unseeded run): 0, still the same on every rank
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("coefficients", torch.full((self.num_tasks,), 1.0 / self.num_tasks))

    # ------------------------------------------------------------------ state of stateful torchjd methods
    def load_solver_state(self) -> None:
        """Copy this module's buffers into the torchjd object (stateful methods override)."""

    def store_solver_state(self) -> None:
        """Copy the torchjd object's state back into this module's buffers (stateful methods override)."""

    def solve(self, gramian: Tensor) -> Tensor:
        """torchjd's weights for a float64 CPU Gramian."""
        return self.solver(gramian)

    def call_seed(self, call: int) -> int:
        """Seed of the global torch RNG during call number ``call`` (0-based)."""
        return int(np.random.SeedSequence([self.seed, call]).generate_state(1)[0])

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        assert stats.gramian is not None, "the module computes the Gramian when 'gramian' is required"
        gramian = stats.gramian.detach().to(device="cpu", dtype=STATE_DTYPE)
        if bool(torch.isfinite(gramian).all()):
            self.load_solver_state()
            with torch.random.fork_rng(devices=[]):  # saves and restores the CPU generator only
                torch.random.default_generator.manual_seed(self.call_seed(int(self.calls)))
                weights = self.solve(gramian)
            self.store_solver_state()
            self.calls += 1
            self.coefficients.copy_(weights.detach().to(self.coefficients))
        return WeightingOutput(coefficients=self.coefficients.clone(), extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.coefficients


def _register(cls: type[TorchJDWeighting]) -> type[TorchJDWeighting]:
    WEIGHTINGS.register(cls.key)(cls)
    return cls


def _pref_vector(key: str, tasks: Mapping[str, TaskSpec], pref: Mapping[str, float] | None) -> Tensor | None:
    """``{task: weight}`` for every selected task -> torchjd's preference vector (None: the mean)."""
    if pref is None:
        return None
    if set(pref) != set(tasks):
        raise ConfigError(
            f"weighting.pref_vector: {key} needs a value for every task ({', '.join(tasks)}), got "
            f"{', '.join(pref) or '(none)'}"
        )
    values = [float(pref[t]) for t in tasks]
    if not all(np.isfinite(v) and v >= 0 for v in values):
        raise ConfigError(f"weighting.pref_vector: values must be finite and >= 0, got {dict(pref)}")
    return torch.tensor(values, dtype=STATE_DTYPE)


@_register
class MGDA(TorchJDWeighting):
    """MGDA-UB: Sener & Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018.

    w = argmin_{w in simplex} w^T G w (min-norm point of the convex hull of the gradients), by
    Frank-Wolfe (Algorithm 2) until the step falls below ``epsilon`` or ``max_iters``. Sums to one.
    torchjd: ``MGDAWeighting``.
    """

    key = "mgda"
    torchjd_class = aggregation.MGDAWeighting
    normalization = "sum_to_one"

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        epsilon: float = 0.001,
        max_iters: int = 100,
        grad_level: str = "representation",
    ) -> None:
        super().__init__(tasks, grad_level, {"epsilon": epsilon, "max_iters": max_iters})


@_register
class PCGrad(TorchJDWeighting):
    """PCGrad: Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020.

    Each g_i is projected onto the normal plane of every conflicting g_j (g_i . g_j < 0), the j in a
    random order; the result sum_i g_i^PC = w^T J. Random (``seed``), so not permutation invariant.
    torchjd: ``PCGradWeighting``.
    """

    key = "pcgrad"
    torchjd_class = aggregation.PCGradWeighting
    permutation_invariant = False

    def __init__(
        self, tasks: Mapping[str, TaskSpec], seed: int | None = 0, grad_level: str = "representation"
    ) -> None:
        super().__init__(tasks, grad_level, {}, seed=seed)


@_register
class CAGrad(TorchJDWeighting):
    """CAGrad: Liu et al., "Conflict-Averse Gradient Descent for Multi-task Learning", NeurIPS 2021.

    d = g_0 + (sqrt(phi) / ||g_w||) g_w with g_0 the mean gradient, phi = c^2 ||g_0||^2 and
    w = argmin_{w in simplex} g_w . g_0 + sqrt(phi) ||g_w|| (solved by cvxpy/Clarabel on the
    trace-normalised Gramian). ``c`` >= 0 is the radius of the ball around g_0 (0: the mean).
    torchjd: ``CAGradWeighting`` (extra ``torchjd[cagrad]``).
    """

    key = "cagrad"
    torchjd_class = aggregation.CAGradWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        c: float = 0.4,
        norm_eps: float = 0.0001,
        grad_level: str = "representation",
    ) -> None:
        super().__init__(tasks, grad_level, {"c": c, "norm_eps": norm_eps})


@_register
class IMTLG(TorchJDWeighting):
    """IMTL-G: Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021.

    The aggregated gradient has equal projections on every unit task gradient u_k = g_k / ||g_k||:
    w = G^+ d / sum(G^+ d) with d_k = ||g_k|| (torchjd's generalisation to linearly dependent rows).
    Sums to one; weights can be negative. torchjd: ``IMTLGWeighting``.
    """

    key = "imtl_g"
    torchjd_class = aggregation.IMTLGWeighting
    normalization = "sum_to_one"
    nonnegative = False

    def __init__(self, tasks: Mapping[str, TaskSpec], grad_level: str = "representation") -> None:
        super().__init__(tasks, grad_level, {})


@_register
class AlignedMTL(TorchJDWeighting):
    """Aligned-MTL: Senushkin et al., "Independent Component Alignment for Multi-Task Learning",
    CVPR 2023.

    With G = V diag(lambda) V^T, the balance transformation B = sqrt(s) V diag(lambda)^-1/2 V^T makes the
    aligned gradients orthogonal with equal norms; w = B p for the preference p (default 1/K). ``s`` is
    the smallest (``min``), median or mean (``rmse``, the original code) eigenvalue. Weights can be
    negative. torchjd: ``AlignedMTLWeighting``.
    """

    key = "aligned_mtl"
    torchjd_class = aggregation.AlignedMTLWeighting
    nonnegative = False

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        pref_vector: Mapping[str, float] | None = None,
        scale_mode: Literal["min", "median", "rmse"] = "min",
        grad_level: str = "representation",
    ) -> None:
        pref = _pref_vector(self.key, tasks, pref_vector)
        super().__init__(tasks, grad_level, {"pref_vector": pref, "scale_mode": scale_mode})


@_register
class UPGrad(TorchJDWeighting):
    """UPGrad: Quinton & Rey, "Jacobian Descent for Multi-Objective Optimization", 2024.

    Every g_k is projected onto the dual cone {x : G-row products >= 0} of all task gradients, and the
    projections are combined with the preference p (default 1/K): a non-conflicting direction.
    torchjd: ``UPGradWeighting`` (quadprog).
    """

    key = "upgrad"
    torchjd_class = aggregation.UPGradWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        pref_vector: Mapping[str, float] | None = None,
        grad_level: str = "representation",
    ) -> None:
        pref = _pref_vector(self.key, tasks, pref_vector)
        super().__init__(tasks, grad_level, {"pref_vector": pref})


@_register
class DualProj(TorchJDWeighting):
    """DualProj: the mean (or preference-weighted) gradient projected onto the dual cone of the task
    gradients, Equation 11 of Lopez-Paz & Ranzato, "Gradient Episodic Memory for Continual Learning",
    NeurIPS 2017 (as an MTL aggregator in Quinton & Rey 2024). torchjd: ``DualProjWeighting``.
    """

    key = "dualproj"
    torchjd_class = aggregation.DualProjWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        pref_vector: Mapping[str, float] | None = None,
        grad_level: str = "representation",
    ) -> None:
        pref = _pref_vector(self.key, tasks, pref_vector)
        super().__init__(tasks, grad_level, {"pref_vector": pref})


@_register
class FairGrad(TorchJDWeighting):
    """FairGrad: Ban & Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024.

    alpha-fair utility maximisation: w solves G w = w^(-1/alpha) (scipy least squares, w >= 0).
    ``alpha`` = 1 is proportional fairness (Nash-MTL-like), 2 minimum potential delay, -> inf max-min.
    torchjd: ``FairGradWeighting`` (extra ``torchjd[fairgrad]``).
    """

    key = "fairgrad"
    torchjd_class = aggregation.FairGradWeighting

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        alpha: float = 1.0,
        max_iters: int | None = None,
        grad_level: str = "representation",
    ) -> None:
        if not alpha >= 0:
            raise ConfigError(f"weighting.alpha: must be >= 0, got {alpha}")
        super().__init__(tasks, grad_level, {"alpha": alpha, "max_iters": max_iters})


@_register
class GradVac(TorchJDWeighting):
    """GradVac: Wang et al., "Gradient Vaccine: Investigating and Improving Multi-task Optimization in
    Massively Multilingual Models", ICLR 2021.

    Like PCGrad (random order, ``seed``), but g_i is corrected towards an EMA target cosine
    phi_hat_ij (decay ``beta``) whenever its cosine with g_j falls below it. Stateful (phi_hat, a K x K
    buffer ``phi_hat``). torchjd: ``GradVacWeighting``.
    """

    key = "gradvac"
    stateful = True
    torchjd_class = aggregation.GradVacWeighting
    permutation_invariant = False

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        beta: float = 0.5,
        eps: float = 1e-8,
        seed: int | None = 0,
        grad_level: str = "representation",
    ) -> None:
        super().__init__(tasks, grad_level, {"beta": beta, "eps": eps}, seed=seed)
        self.register_buffer("phi_hat", torch.zeros(self.num_tasks, self.num_tasks, dtype=STATE_DTYPE))

    def load_solver_state(self) -> None:
        self.solver._phi_t = self.phi_hat.detach().to("cpu", STATE_DTYPE).clone()
        self.solver._state_key = (self.num_tasks, STATE_DTYPE)

    def store_solver_state(self) -> None:
        self.phi_hat.copy_(self.solver._phi_t)


@_register
class PCD(TorchJDWeighting):
    """PCD: Varam et al., "Not All Objectives Are Born Equal: Priority-Constrained Descent for
    Hierarchical Multi-Objective Optimization", TMLR 2026.

    The FIRST selected task is primary: d follows its gradient as closely as possible subject to every
    other task getting at least a fraction ``tau`` of the progress along its own (EMA-normalised,
    decay ``beta``) gradient; d is rescaled to ||g_1||. Order-dependent by design, stateful (buffers
    ``sq_norm_ema``, ``ema_steps``). torchjd: ``PCDWeighting``.
    """

    key = "pcd"
    stateful = True
    torchjd_class = aggregation.PCDWeighting
    permutation_invariant = False

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        tau: float = 0.02,
        beta: float = 0.999,
        eps: float = 1e-8,
        grad_level: str = "representation",
    ) -> None:
        super().__init__(tasks, grad_level, {"tau": tau, "beta": beta, "eps": eps})
        self.register_buffer("sq_norm_ema", torch.zeros(self.num_tasks, dtype=STATE_DTYPE))
        self.register_buffer("ema_steps", torch.zeros((), dtype=torch.long))

    def load_solver_state(self) -> None:
        self.solver._sq_norm_ema = self.sq_norm_ema.detach().to("cpu", STATE_DTYPE).clone()
        self.solver._n_steps = self.ema_steps.detach().cpu().clone()
        self.solver._state_key = self.num_tasks

    def store_solver_state(self) -> None:
        self.sq_norm_ema.copy_(self.solver._sq_norm_ema)
        self.ema_steps.copy_(self.solver._n_steps)


class NashSolverError(RuntimeError):
    """Nash-MTL's convex solver failed on too many consecutive steps."""


class _MonitoredProblem:
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


class _MonitoredNashMTLWeighting(_NashMTLWeighting):
    """torchjd's Nash-MTL weighting whose cvxpy problem counts its failed solves."""

    prob: _MonitoredProblem

    def _init_optim_problem(self) -> None:
        super()._init_optim_problem()
        self.prob = _MonitoredProblem(self.prob)


@_register
class NashMTL(TorchJDWeighting):
    """Nash-MTL: Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022.

    alpha > 0 solves the bargaining condition G alpha = 1/alpha (element-wise, G the Gramian), by
    ``optim_niter`` sequential convex (ECOS) steps on G / ||G||_F; the update direction alpha^T J is
    clipped to norm ``max_norm`` (0: no clipping); alpha is recomputed every ``update_weights_every``
    calls. Stateful (previous alpha, step; buffers ``prev_alpha``, ``solver_step``).

    torchjd's ``_NashMTLWeighting`` takes J itself but only uses it through J J^T and ||alpha^T J||,
    which the symmetric square root S = G^1/2 (S S^T = G) preserves: it is fed S. Needs the extra
    ``pip install "torchjd[nash_mtl]"`` (cvxpy, ECOS), else a ConfigError at construction.

    Solver failures (torchjd swallows them and reuses the previous alpha) are counted: a call whose
    solves all failed is a failed step; the first one warns, ``solver_failures`` (total) is logged as
    ``train/nash_mtl/solver_failures``, and ``max_failed_steps`` consecutive failed steps raise
    :class:`NashSolverError` (0: never raise).
    """

    key = "nash_mtl"
    stateful = True
    torchjd_class = _MonitoredNashMTLWeighting

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

    def load_solver_state(self) -> None:
        solver = self.solver
        solver.prvs_alpha = self.prev_alpha.detach().cpu().numpy().copy()
        solver.step = float(self.solver_step)
        if solver.step > 0 and getattr(solver, "prob", None) is None:
            solver._init_optim_problem()  # restored from a checkpoint: torchjd builds it only at step 0

    def store_solver_state(self) -> None:
        self.prev_alpha.copy_(torch.from_numpy(np.asarray(self.solver.prvs_alpha, dtype=np.float64)))
        self.solver_step.fill_(int(self.solver.step))

    def solve(self, gramian: Tensor) -> Tensor:
        eigenvalues, eigenvectors = torch.linalg.eigh(gramian)
        root = eigenvectors @ torch.diag(eigenvalues.clamp_min(0).sqrt()) @ eigenvectors.T
        weights = self.solver(root)
        monitor = self.solver.prob
        if monitor.attempts > 0:
            self._record(failed=monitor.successes == 0)
        monitor.attempts = monitor.successes = 0
        return weights

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
