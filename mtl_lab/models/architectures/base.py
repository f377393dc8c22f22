"""Architecture contract: inputs -> per-task features, the shared tensors, and which parameters are shared.

An architecture is built with ``tasks`` (names), ``inputs`` (the data's ``{name: InputSpec}``) and
``encoder`` (the encoder's YAML node, built inside it, once or several times). Its forward returns an
:class:`ArchitectureOutput`:

- ``features``: ``{task: Tensor[B, feature_dim(task)]}``, what task t's head reads (and nothing else
  reads it);
- ``shared``: the representation(s) every task's prediction depends on, a tuple of one tensor (hard
  sharing) or several; gradient statistics at ``grad_level: representation`` are gradients w.r.t. them.
  When each ``features[t]`` is an identity view of a shared tensor, one backward pass through the heads
  gives every task's gradient (:func:`mtl_lab.gradients.one_pass_views` checks this on the graph);
- ``aux_losses``: the architecture's own loss terms ``{name: scalar}`` (e.g. expert load balancing),
  added to the objective; empty for most.

``shared_parameters()`` (every task's loss depends on them; ``grad_level: params``) and
``last_shared_parameters()`` (the last shared layer, GradNorm's W; ``grad_level: last_shared_layer``)
say what is shared; :attr:`Architecture.grad_levels` lists the gradient levels those give a meaning to
(a weighting asking for another one is refused before training, naming these).
Token-level tasks (:attr:`mtl_lab.tasks.TaskKind.unit` ``token``) read per-token features
``[B, T, feature_dim(task)]``; an architecture that can feed them sets
:attr:`Architecture.supports_token_tasks` and takes their names as ``token_tasks`` (passed only when the
data has some).
``lr_multipliers()`` gives parameter groups trained at a multiple of the optimizer's learning rate
(e.g. cross-stitch units). ``callbacks()`` gives Lightning callbacks the run adds to its trainer (e.g.
one that maps what the architecture learned). :meth:`Architecture.example` gives the build arguments of
a small instance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from torch import Tensor, nn

from mtl_lab.gradients import GRAD_LEVELS
from mtl_lab.registry import Registry

if TYPE_CHECKING:
    from pytorch_lightning import Callback

ARCHITECTURES: Registry[Architecture] = Registry("architecture")


@dataclass
class ArchitectureOutput:
    features: dict[str, Tensor]
    shared: tuple[Tensor, ...]
    aux_losses: dict[str, Tensor] = field(default_factory=dict)


class Architecture(nn.Module, ABC):
    """Built with ``tasks``, ``inputs`` and ``encoder`` (see the module docstring)."""

    #: The ``grad_level`` values this architecture's shared tensors and parameters give a meaning to.
    grad_levels: ClassVar[tuple[str, ...]] = GRAD_LEVELS
    #: Whether it takes ``token_tasks`` and hands them per-token features (with a sequence encoder).
    supports_token_tasks: ClassVar[bool] = False

    @abstractmethod
    def forward(self, inputs: Mapping[str, Tensor]) -> ArchitectureOutput: ...

    @abstractmethod
    def feature_dim(self, task: str) -> int:
        """Size of the features handed to ``task``'s head."""

    @abstractmethod
    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters every task's loss depends on."""

    @abstractmethod
    def last_shared_parameters(self) -> list[nn.Parameter]:
        """Parameters of the last shared layer (GradNorm's W)."""

    def lr_multipliers(self) -> list[tuple[list[nn.Parameter], float]]:
        """Parameter groups trained at ``multiplier x`` the optimizer's learning rate (none by default)."""
        return []

    def callbacks(self) -> list[Callback]:
        """Lightning callbacks that the run adds to its trainer (none by default)."""
        return []

    @classmethod
    def example(cls) -> dict[str, Any]:
        """Keyword arguments of a small instance (tasks, inputs, encoder node), for the contract tests."""
        raise NotImplementedError(f"{cls.__name__} declares no example input")
