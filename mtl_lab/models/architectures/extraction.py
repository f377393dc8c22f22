"""One extraction layer of Progressive Layered Extraction (Tang et al., RecSys 2020), the building block of
:mod:`mtl_lab.models.architectures.ple` (CGC is one such layer).

Per task t, ``num_task_experts`` experts E_t,i reading task t's input x_t; ``num_shared_experts`` experts
E_s,j reading the shared input x_s; per task a gate over its own and the shared experts, and (``shared_gate``,
every level of PLE but the last) a gate over ALL experts of the level:

    y_t = Σ g_t · [E_t,1(x_t) .. E_t,m(x_t), E_s,1(x_s) .. E_s,n(x_s)],    g_t = softmax(W_t h_t + b_t)
    y_s = Σ g_s · [E_1,1(x_1) .. E_K,m(x_K), E_s,1(x_s) .. E_s,n(x_s)],    g_s = softmax(W_s h_s + b_s)

h_t and h_s are what the gates read: the gate features h at the first level, x_t and x_s above it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.models.architectures.gating import Gate, mix


@dataclass
class LevelOutput:
    """``task_outputs`` y_t [B, D]; ``shared_output`` y_s [B, D] (None without a shared gate); the shared
    experts' outputs; the gate weights g_t [B, m + n] per task and g_s [B, K·m + n] (or None)."""

    task_outputs: dict[str, Tensor]
    shared_output: Tensor | None
    shared_experts: tuple[Tensor, ...]
    task_gates: dict[str, Tensor]
    shared_gate: Tensor | None

    def gates(self) -> list[Tensor]:
        return [*self.task_gates.values(), *([] if self.shared_gate is None else [self.shared_gate])]


class ExtractionLayer(nn.Module):
    """Experts drawn in order from ``experts`` (each giving ``out_dim`` features): task t's, in task order,
    then the shared ones; gates reading ``gate_dim`` features (see the module docstring)."""

    def __init__(
        self,
        tasks: Sequence[str],
        experts: Iterator[nn.Module],
        out_dim: int,
        num_task_experts: int,
        num_shared_experts: int,
        gate_dim: int,
        shared_gate: bool,
    ) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.out_dim = out_dim
        self.task_experts = nn.ModuleDict(
            {t: nn.ModuleList(next(experts) for _ in range(num_task_experts)) for t in self.tasks}
        )
        self.shared_experts = nn.ModuleList(next(experts) for _ in range(num_shared_experts))
        own = num_task_experts + num_shared_experts
        self.task_gates = nn.ModuleDict({t: Gate(gate_dim, own) for t in self.tasks})
        every = len(self.tasks) * num_task_experts + num_shared_experts
        self.shared_gate = Gate(gate_dim, every) if shared_gate else None

    def forward(
        self,
        task_inputs: Mapping[str, Any],
        shared_input: Any,
        task_gate_inputs: Mapping[str, Tensor],
        shared_gate_input: Tensor,
    ) -> LevelOutput:
        """Experts read ``task_inputs[t]`` / ``shared_input`` (the batch's inputs at the first level,
        tensors above it); gates read ``task_gate_inputs[t]`` / ``shared_gate_input``."""
        shared = tuple(expert(shared_input) for expert in self.shared_experts)
        own = {t: [expert(task_inputs[t]) for expert in self.task_experts[t]] for t in self.tasks}
        task_gates = {t: self.task_gates[t](task_gate_inputs[t]) for t in self.tasks}
        outputs = {t: mix(task_gates[t], torch.stack([*own[t], *shared], dim=1)) for t in self.tasks}
        shared_output, shared_gate = None, None
        if self.shared_gate is not None:
            shared_gate = self.shared_gate(shared_gate_input)
            every = [y for t in self.tasks for y in own[t]] + list(shared)
            shared_output = mix(shared_gate, torch.stack(every, dim=1))
        return LevelOutput(outputs, shared_output, shared, task_gates, shared_gate)

    def expert_parameters(self) -> list[nn.Parameter]:
        """Every expert's parameters, task experts first."""
        return [*self.task_experts.parameters(), *self.shared_experts.parameters()]
