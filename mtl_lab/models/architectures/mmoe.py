"""Multi-gate Mixture-of-Experts (Ma et al., KDD 2018, "Modeling Task Relationships in Multi-task Learning
with Multi-gate Mixture-of-Experts").

E experts, each an encoder built from the ``encoder`` node; one softmax gate per task over the experts,
reading the gate features h (:mod:`mtl_lab.models.architectures.gating`: the flat input x itself, a
``gate_encoder``, or a copy of the encoder):

    g_t = softmax(W_t h + b_t) in R^E,    z_t = Σ_e g_t[e] · expert_e(x)    (task t's features)

What is shared, per ``grad_level``:

- ``representation``: the E expert outputs expert_e(x) (``shared``, E tensors [B, D]); task t's gradient
  w.r.t. expert e is g_t[e] · ∂L_t/∂z_t, K backward passes (the features are gated sums, not views);
- ``params``: every expert and the gate encoder (none when the gates read x): every task's loss depends on
  them; the per-task gates W_t, b_t are task t's own;
- ``last_shared_layer``: the last layer of every expert (GradNorm's W).

``load_balance_weight`` w > 0 adds ``aux_losses["load_balance"]`` = w · Σ_t CV(Σ_b g_t[b])²
(:func:`~mtl_lab.models.architectures.gating.load_balance_loss`); 0 (default) adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.architectures.gating import (
    LOAD_BALANCE,
    Gate,
    GateInput,
    check_count,
    check_load_balance_weight,
    load_balance_loss,
    mix,
)
from mtl_lab.models.encoders import ENCODERS, Encoder


@ARCHITECTURES.register("mmoe")
class MMoEArchitecture(Architecture):
    """``num_experts`` encoders mixed per task by a softmax gate (see the module docstring)."""

    def __init__(
        self,
        tasks: Sequence[str],
        inputs: Mapping[str, InputSpec],
        encoder: Mapping[str, Any],
        num_experts: int = 4,
        gate_encoder: Mapping[str, Any] | None = None,
        load_balance_weight: float = 0.0,
    ) -> None:
        super().__init__()
        check_count("num_experts", num_experts, 1)
        check_load_balance_weight(load_balance_weight)
        self.tasks = list(tasks)
        self.load_balance_weight = load_balance_weight
        experts: list[Encoder] = [ENCODERS.build(encoder, inputs=inputs) for _ in range(num_experts)]
        self.experts = nn.ModuleList(experts)
        self.gate_input = GateInput(inputs, encoder, experts[0], gate_encoder)
        self.gates = nn.ModuleDict({t: Gate(self.gate_input.out_dim, num_experts) for t in self.tasks})
        self.out_dim = experts[0].out_dim

    def experts_and_gates(self, inputs: Mapping[str, Tensor]) -> tuple[tuple[Tensor, ...], dict[str, Tensor]]:
        """The E expert outputs ([B, D] each) and every task's gate weights g_t ([B, E], rows sum to 1)."""
        outputs = tuple(expert(inputs) for expert in self.experts)
        h = self.gate_input(inputs)
        return outputs, {t: self.gates[t](h) for t in self.tasks}

    def forward(self, inputs: Mapping[str, Tensor]) -> ArchitectureOutput:
        outputs, gates = self.experts_and_gates(inputs)
        stacked = torch.stack(outputs, dim=1)
        features = {t: mix(gates[t], stacked) for t in self.tasks}
        aux = {}
        if self.load_balance_weight > 0:
            aux[LOAD_BALANCE] = self.load_balance_weight * load_balance_loss(gates.values())
        return ArchitectureOutput(features=features, shared=outputs, aux_losses=aux)

    def feature_dim(self, task: str) -> int:
        return self.out_dim

    def shared_parameters(self) -> list[nn.Parameter]:
        return [*self.experts.parameters(), *self.gate_input.parameters()]

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return [p for expert in self.experts for p in expert.last_layer.parameters()]

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "tasks": ["a", "b", "c"],
            "inputs": {"features": InputSpec((5,))},
            "encoder": {"name": "mlp", "hidden_dims": [6, 4]},
            "num_experts": 3,
            "load_balance_weight": 0.01,
        }
