"""Architecture contract: inputs -> per-task features, plus which parameters are shared."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from torch import Tensor, nn

from mtl_lab.registry import Registry

ARCHITECTURES: Registry[Architecture] = Registry("architecture")


@dataclass
class Features:
    """Forward output: ``per_task`` features for each head and the ``shared`` representation.

    ``shared`` is the tensor every task's prediction depends on; gradient statistics taken at the
    representation level are gradients with respect to it. ``per_task_views``: every ``per_task[t]`` is
    its own identity view of ``shared`` (``shared.view_as(shared)``), read only by task t's head, so the
    gradient of the summed task losses w.r.t. ``per_task[t]`` is task t's gradient w.r.t. ``shared``
    and one backward pass gives all K of them.
    """

    per_task: dict[str, Tensor]
    shared: Tensor
    per_task_views: bool = False


class Architecture(nn.Module, ABC):
    """Built with ``tasks`` (names), ``input_shape`` and ``encoder`` (the encoder's YAML node)."""

    @abstractmethod
    def forward(self, x: Tensor) -> Features: ...

    @abstractmethod
    def feature_dim(self, task: str) -> int:
        """Size of the features handed to ``task``'s head."""

    @abstractmethod
    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters every task's loss depends on."""

    @abstractmethod
    def last_shared_parameters(self) -> list[nn.Parameter]:
        """Parameters of the last shared layer (GradNorm's W)."""
