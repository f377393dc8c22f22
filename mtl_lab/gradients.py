"""Per-task gradient statistics, as functions of (the task losses, what to differentiate with respect to).

Levels (``grad_level``) say what "the gradient of task k" is taken with respect to:

- ``representation``: the shared tensors of the step (``ModelOutput.shared``), cheap: the passes stop there;
- ``last_shared_layer``: the parameters of the architecture's last shared layer (GradNorm's W);
- ``params``: every shared parameter (exact, a backward through the whole trunk per task).

Rows are measured by ``torch.autograd.grad`` passes that never touch ``.grad``: one pass per task through
its own branch, or, at the representation level, ONE pass through all heads when the graph shows that
each task's features are an identity view of the one shared tensor (:func:`one_pass_views`): the
gradient of the summed losses w.r.t. view t is then task t's gradient w.r.t. the shared tensor.

Under a grad scaler the losses are multiplied by ``scale`` before the passes and the rows divided by it;
the Gramian is float32 and computed with autocast off. Under DDP (``Reduction``): at parameter levels the
per-rank gradients are averaged first (the gradient of the global mean loss), then G = J J^T; at the
representation level the global representation is the concatenation over ranks, so G = sum_r G_r / W^2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from mtl_lab.errors import ConfigError, unknown_choice

if TYPE_CHECKING:  # the architectures' package imports the weighting contract, which imports this module
    from mtl_lab.batch import ModelOutput
    from mtl_lab.models.architectures import Architecture

GRAD_LEVELS = ("last_shared_layer", "params", "representation")
FROZEN_LEVEL = (
    "every parameter it depends on is frozen (freeze=...), so there is no task gradient to measure; "
    "use another grad_level or freeze less"
)
STATISTICS = frozenset({"global_losses", "grad_norms", "gramian"})


@dataclass
class GradientStats:
    """What a weighting sees of one step (fields it did not ask for are None).

    ``counts`` [K]: labelled units of each task in the step, summed over ranks (always given: a task
    with count 0 has no loss this step, and strategies keep their state for it); ``global_losses`` [K]:
    the losses averaged over ranks (labelled-count weighted); ``grad_norms`` [K] and ``gramian`` [K, K]:
    of the per-task gradients at the weighting's ``grad_level``.
    """

    counts: Tensor | None = None
    global_losses: Tensor | None = None
    grad_norms: Tensor | None = None
    gramian: Tensor | None = None

    def present(self, num_tasks: int, device: torch.device | None = None) -> Tensor:
        """bool [K]: the tasks with labels in this step (all of them when ``counts`` is unknown)."""
        if self.counts is None:
            return torch.ones(num_tasks, dtype=torch.bool, device=device)
        return self.counts > 0


def _identity(value: Tensor) -> Tensor:
    return value


@dataclass(frozen=True)
class Reduction:
    """How per-rank values combine: ``mean`` / ``sum`` over the ``world_size`` ranks (identity alone)."""

    world_size: int = 1
    mean: Callable[[Tensor], Tensor] = _identity
    sum: Callable[[Tensor], Tensor] = _identity

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


LOCAL = Reduction()


def one_pass_views(features: Mapping[str, Tensor], shared: Sequence[Tensor]) -> list[Tensor] | None:
    """The per-task features, in task order, when the graph shows that each one is its own identity view
    (same shape, a view node whose only input is the shared tensor's node) of the step's only shared
    tensor; else None. Each head reads only its own features, so the gradient of the summed task losses
    w.r.t. view t is task t's gradient w.r.t. the shared tensor."""
    if len(shared) != 1 or shared[0].grad_fn is None:
        return None
    base = shared[0]
    views = list(features.values())
    if len({id(v) for v in views}) != len(views):
        return None
    for view in views:
        node = view.grad_fn
        if view is base or node is None or view.shape != base.shape or not view._is_view():
            return None
        inputs = [fn for fn, _ in node.next_functions if fn is not None]
        if inputs != [base.grad_fn]:
            return None
    return views


def gradient_rows(
    losses: Sequence[Tensor],
    inputs: Sequence[Tensor],
    views: Sequence[Tensor] | None = None,
    scale: float = 1.0,
) -> Tensor:
    """[K, D] float32: row k is the gradient of ``losses[k]`` w.r.t. ``inputs`` (flattened, concatenated),
    unscaled. With ``views`` (see :func:`one_pass_views`) one pass gives all rows."""
    if views is not None:
        total = sum(losses[k] for k in range(len(losses)))
        grads = torch.autograd.grad(total * scale, list(views), retain_graph=True, materialize_grads=True)
        rows = [g.reshape(-1) for g in grads]
    else:
        rows = []
        for loss in losses:
            grads = torch.autograd.grad(
                loss if scale == 1.0 else loss * scale,
                list(inputs),
                retain_graph=True,
                materialize_grads=True,
            )
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
    matrix = torch.stack(rows).float()
    return matrix if scale == 1.0 else matrix / scale


def gramian(
    losses: Sequence[Tensor],
    inputs: Sequence[Tensor],
    representation: bool,
    views: Sequence[Tensor] | None = None,
    scale: float = 1.0,
    reduction: Reduction = LOCAL,
) -> Tensor:
    """K x K float32 Gramian of the per-task gradients, identical on every rank (a collective under DDP:
    call it on every rank). ``representation``: ``inputs`` are activations (per-rank rows are
    concatenated over ranks), else parameters (per-rank rows are averaged)."""
    matrix = gradient_rows(losses, inputs, views, scale)
    # autocast would run the products in fp16/bf16 (3 significant digits, under- and overflow)
    with torch.autocast(matrix.device.type, enabled=False):
        if representation:
            return reduction.mean(matrix @ matrix.T) / reduction.world_size
        matrix = reduction.mean(matrix)
        return matrix @ matrix.T


def level_inputs(
    architecture: Architecture, output: ModelOutput, level: str
) -> tuple[list[Tensor], list[Tensor] | None]:
    """What task gradients are taken w.r.t. at ``level``, and the one-pass views when they exist; frozen
    parameters are left out, and a level left with nothing trainable is a one-line :class:`ConfigError`."""
    if level not in GRAD_LEVELS:
        raise unknown_choice("grad_level", level, GRAD_LEVELS, "gradient level")
    if level == "representation":
        if not all(shared.requires_grad for shared in output.shared):
            raise ConfigError(f"grad_level {level!r}: {FROZEN_LEVEL}")
        return list(output.shared), one_pass_views(output.features, output.shared)
    params = (
        architecture.last_shared_parameters()
        if level == "last_shared_layer"
        else architecture.shared_parameters()
    )
    trainable = [p for p in params if p.requires_grad]
    if not trainable:
        raise ConfigError(f"grad_level {level!r}: {FROZEN_LEVEL}")
    return trainable, None
