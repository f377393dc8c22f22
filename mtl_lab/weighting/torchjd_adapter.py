"""Gramian-based weightings through torchjd (``torchjd.aggregation.*Weighting``), not written again.

Each strategy turns the K x K Gramian G = J J^T of the per-task gradients J (rows g_k, measured by the
module at :attr:`grad_level`, reduced over DDP ranks and unscaled under a grad scaler) into weights w;
the module then backpropagates ``sum_k w_k L_k`` once, whose gradient at the measured level is exactly
the aggregation ``w^T J`` of the method (exact at ``grad_level: params``; at the default
``representation`` the Gramian is that of the gradients w.r.t. the shared features, from one small
backward pass through the heads, or one per task where the architecture has no per-task views).
:class:`TorchJDWeighting` is the one adapter; each registered subclass (one file per method) fixes the
torchjd class, its hyper-parameters (``conf/weighting/<name>.yaml``) and its paper.

Adapter contract:

- torchjd runs on the CPU in float64 (K x K is tiny; several methods call numpy solvers anyway); the
  coefficients are its weights, detached, float32, on the Gramian's device.
- Randomness (PCGrad, GradVac draw ``torch.randperm`` from the global CPU RNG): every call runs under
  ``torch.random.fork_rng`` with the CPU generator seeded from (``seed``, call counter), so all DDP ranks
  draw the same permutations, the training RNG stream is untouched, and a restored checkpoint continues
  the sequence. Only the CPU generator is seeded (torchjd runs on the CPU): ``torch.manual_seed`` would
  also reseed the CUDA generators, which ``fork_rng(devices=[])`` does not restore.
- State (GradVac's EMA targets, PCD's EMA of squared norms, Nash-MTL's previous alpha and step) lives in
  buffers of this module, loaded into torchjd before and read back after every call
  (:mod:`mtl_lab.weighting.torchjd_private`): it is in the ``state_dict`` and restored by checkpoints.
  The torchjd objects themselves are deliberately not submodules.
- A non-finite Gramian (fp16 overflow) leaves coefficients and state unchanged for that step; before
  the first step the coefficients are 1/K.
- Stateful strategies advance once per training-step call, i.e. once per micro-batch under gradient
  accumulation (each micro-batch's own Gramian).
- Missing labels (``stats.counts``, global over ranks, so every rank agrees): the method runs on the
  sub-Gramian G[P][:, P] of the present tasks P, as if the others did not exist (a preference vector is
  restricted to P, not renormalised); the present tasks get its weights, a missing task keeps its previous
  coefficient (it multiplies a zero loss) and its state entries. A declared normalisation then holds over
  P. One present task: the method's weight for K = 1. No present task: nothing changes (no call counted).
  ``needs_all_tasks``: refused with one-task-per-step data, where every step would be a K = 1 step.

Left out of torchjd's weightings: ``Krum`` (byzantine-robust selection of one row: no MTL meaning),
``Mean``/``Sum``/``Constant`` (== ``fixed``), ``Random`` (RLW is a loss-level strategy), ``ExcessMTL``
(accumulates element-wise squared gradients: needs the full Jacobian, not the Gramian), ``MoDo`` and
``SDMGrad`` (need J_1 J_2^T from two independent mini-batches), ``CRMOGM`` (an EMA wrapper around another
weighting, not a strategy of its own); ``ConFIG``, ``GradDrop``, ``TrimmedMean`` have no Gramian form.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting.base import WEIGHTINGS, GradientStats, Weighting, WeightingOutput

STATE_DTYPE = torch.float64


class TorchJDWeighting(Weighting):
    """Adapter: coefficients = ``torchjd_weighting(G[P][:, P])`` for the present tasks P of the step."""

    requires = frozenset({"gramian"})
    needs_all_tasks = True
    #: Registered name (``weighting=<key>``), used in error messages.
    key: ClassVar[str] = ""
    #: The torchjd weighting class, built with the subclass's hyper-parameters.
    torchjd_class: ClassVar[type[nn.Module]]
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
        # plain attributes, not submodules: never moved to the GPU nor in the state_dict
        self.__dict__["solver"] = solver
        self.__dict__["subset_solvers"] = {}
        self.seed = int(seed or 0)  # null (an unseeded run): 0, still the same on every rank
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("coefficients", torch.full((self.num_tasks,), 1.0 / self.num_tasks))

    # ------------------------------------------------------------------ solvers and their state
    def solver_for(self, present: list[int]) -> nn.Module:
        """The torchjd object for the present tasks (indices, ascending): the one built at construction,
        or, when a preference vector is set and some task is missing, one with the vector restricted to
        the present tasks."""
        pref = self.torchjd_kwargs.get("pref_vector")
        if len(present) == self.num_tasks or pref is None:
            return self.solver
        return self.cached_solver(tuple(present), {**self.torchjd_kwargs, "pref_vector": pref[present]})

    def cached_solver(self, key: Hashable, kwargs: Mapping[str, Any]) -> nn.Module:
        """A torchjd object built once per ``key`` with ``kwargs``."""
        if key not in self.subset_solvers:
            self.subset_solvers[key] = self.torchjd_class(**kwargs)
        return self.subset_solvers[key]

    def load_solver_state(self, solver: nn.Module, present: list[int]) -> None:
        """Copy the present tasks' entries of this module's buffers into ``solver`` (stateful methods)."""

    def store_solver_state(self, solver: nn.Module, present: list[int]) -> None:
        """Copy ``solver``'s state back into the present tasks' entries (stateful methods)."""

    def solve(self, gramian: Tensor, present: list[int]) -> Tensor:
        """torchjd's weights for the float64 CPU sub-Gramian of the present tasks."""
        solver = self.solver_for(present)
        self.load_solver_state(solver, present)
        weights = solver(gramian)
        self.store_solver_state(solver, present)
        return weights

    def call_seed(self, call: int) -> int:
        """Seed of the global torch RNG during call number ``call`` (0-based)."""
        return int(np.random.SeedSequence([self.seed, call]).generate_state(1)[0])

    def forward(self, losses: Tensor, stats: GradientStats) -> WeightingOutput:
        assert stats.gramian is not None, "the module computes the Gramian when 'gramian' is required"
        mask = stats.present(self.num_tasks).cpu()
        present = mask.nonzero().flatten().tolist()
        gramian = stats.gramian.detach().to(device="cpu", dtype=STATE_DTYPE)[present][:, present]
        if present and bool(torch.isfinite(gramian).all()):
            with torch.random.fork_rng(devices=[]):  # saves and restores the CPU generator only
                torch.random.default_generator.manual_seed(self.call_seed(int(self.calls)))
                weights = self.solve(gramian, present)
            self.calls += 1
            self.coefficients[mask.to(self.coefficients.device)] = weights.detach().to(self.coefficients)
        return WeightingOutput(coefficients=self.coefficients.clone(), extra=self.zero_extra(losses))

    def current_coefficients(self) -> Tensor:
        return self.coefficients


def register(cls: type[TorchJDWeighting]) -> type[TorchJDWeighting]:
    """Register a torchjd-backed strategy under its ``key``."""
    WEIGHTINGS.register(cls.key)(cls)
    return cls


def preference_vector(
    key: str, tasks: Mapping[str, TaskSpec], pref: Mapping[str, float] | None
) -> Tensor | None:
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


class PreferenceWeighting(TorchJDWeighting):
    """A torchjd weighting whose one hyper-parameter is the preference vector ``pref_vector``
    (``{task: weight}`` for every task; null: 1/K)."""

    def __init__(
        self,
        tasks: Mapping[str, TaskSpec],
        pref_vector: Mapping[str, float] | None = None,
        grad_level: str = "representation",
    ) -> None:
        pref = preference_vector(self.key, tasks, pref_vector)
        super().__init__(tasks, grad_level, {"pref_vector": pref})
