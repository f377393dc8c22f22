"""Task heads: map a task's features to its predictions (logits or regression outputs).

A head is built with ``in_dim`` (the architecture's feature size for the task) and ``out_dim`` (the
task's ``num_outputs``); what the outputs mean (logits, values) is the task kind's business
(:mod:`mtl_lab.tasks`). :meth:`example` gives the build arguments of a small head, for the contract tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from mtl_lab.models.encoders.base import mlp_layers
from mtl_lab.registry import Registry

HEADS: Registry[nn.Module] = Registry("head")


@HEADS.register("linear")
class LinearHead(nn.Module):
    """An affine map ``W f + b``."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, features: Tensor) -> Tensor:
        return self.linear(features)

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"in_dim": 6, "out_dim": 3}


@HEADS.register("mlp")
class MLPHead(nn.Module):
    """Hidden layers (Linear + activation + dropout) followed by an output Linear."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden_dims: Sequence[int] = (64,),
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers, hidden = mlp_layers(in_dim, hidden_dims, activation, dropout)
        layers.append(nn.Linear(hidden, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, features: Tensor) -> Tensor:
        return self.net(features)

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {"in_dim": 6, "out_dim": 3, "hidden_dims": [5]}
