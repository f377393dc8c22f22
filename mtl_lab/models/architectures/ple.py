"""Progressive Layered Extraction (Tang et al., RecSys 2020, "Progressive Layered Extraction (PLE): A Novel
Multi-Task Learning (MTL) Model for Personalized Recommendations").

``num_levels`` L extraction layers (:class:`~mtl_lab.models.architectures.extraction.ExtractionLayer`),
each with ``num_task_experts`` experts per task and ``num_shared_experts`` shared experts. First-level
experts are encoders built from the ``encoder`` node and read the batch; experts above are MLPs
(``expert_hidden_dims``) reading the level below: task t's experts at level l+1 read task t's gate output
y_t at level l, the shared experts read the shared gate output y_s. At every level but the last a shared
gate over ALL experts of the level gives y_s (LibMTL's PLE has none, its issue #88; torch-rechub's has
it). First-level gates read the gate features h (:mod:`mtl_lab.models.architectures.gating`), gates above
read their own branch's input. Task t's features are y_t at level L. CGC is the case L = 1.

What is shared, per ``grad_level``:

- ``representation``: the outputs of the last level's shared experts (``shared``, one tensor [B, D] each),
  which every task's last gate mixes; K backward passes;
- ``params``: everything every task's loss depends on: the gate encoder (when there is one); at each level
  below the last, all experts (task t's feed the shared gate, whose output feeds the next level's shared
  experts) and the shared gate; at levels below L-1 also the task gates (task t's gate feeds task t's
  experts at the next level, hence the shared gate there), when there are task experts; at the last level
  the shared experts. Task t's gates at levels L-1 and L and its experts at level L are its own;
- ``last_shared_layer``: the last layer of each shared expert of the last level (GradNorm's W).

``load_balance_weight`` w > 0 adds ``aux_losses["load_balance"]`` = w · Σ over every gate of every level
of CV(Σ_b g[b])² (:func:`~mtl_lab.models.architectures.gating.load_balance_loss`); 0 adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.architectures.extraction import ExtractionLayer, LevelOutput
from mtl_lab.models.architectures.gating import (
    LOAD_BALANCE,
    GateInput,
    check_count,
    check_load_balance_weight,
    load_balance_loss,
)
from mtl_lab.models.encoders import ENCODERS, Encoder
from mtl_lab.models.encoders.base import ACTIVATIONS, mlp_layers


@ARCHITECTURES.register("ple")
class PLEArchitecture(Architecture):
    """L extraction layers with shared gates below the last (see the module docstring)."""

    def __init__(
        self,
        tasks: Sequence[str],
        inputs: Mapping[str, InputSpec],
        encoder: Mapping[str, Any],
        num_levels: int = 2,
        num_shared_experts: int = 1,
        num_task_experts: int = 1,
        expert_hidden_dims: Sequence[int] = (64,),
        expert_activation: str = "relu",
        expert_dropout: float = 0.0,
        gate_encoder: Mapping[str, Any] | None = None,
        load_balance_weight: float = 0.0,
    ) -> None:
        super().__init__()
        check_count("num_levels", num_levels, 1)
        check_count(
            "num_shared_experts", num_shared_experts, 1, " (without shared experts tasks share nothing)"
        )
        check_count("num_task_experts", num_task_experts, 0)
        check_load_balance_weight(load_balance_weight)
        if num_levels > 1 and not expert_hidden_dims:
            raise ConfigError(
                "architecture.expert_hidden_dims: needs at least one layer width when num_levels > 1, got []"
            )
        if expert_activation not in ACTIVATIONS:
            raise unknown_choice(
                "architecture.expert_activation", expert_activation, ACTIVATIONS, "activation"
            )
        self.tasks = list(tasks)
        self.num_task_experts = num_task_experts
        self.load_balance_weight = load_balance_weight
        first: Encoder = ENCODERS.build(encoder, inputs=inputs)
        self.gate_input = GateInput(inputs, encoder, first, gate_encoder)
        experts: Iterator[nn.Module] = encoder_experts(first, encoder, inputs)
        expert_dim, gate_dim = first.out_dim, self.gate_input.out_dim
        levels = []
        for level in range(num_levels):
            if level > 0:  # experts and gates read the level below's outputs
                experts = mlp_experts(expert_dim, expert_hidden_dims, expert_activation, expert_dropout)
                gate_dim, expert_dim = expert_dim, int(expert_hidden_dims[-1])
            layer = ExtractionLayer(
                self.tasks,
                experts,
                out_dim=expert_dim,
                num_task_experts=num_task_experts,
                num_shared_experts=num_shared_experts,
                gate_dim=gate_dim,
                shared_gate=level < num_levels - 1,
            )
            levels.append(layer)
        self.levels = nn.ModuleList(levels)

    def extract(self, inputs: Mapping[str, Tensor]) -> list[LevelOutput]:
        """Every level's outputs and gate weights, first level first."""
        h = self.gate_input(inputs)
        task_inputs: dict[str, Any] = dict.fromkeys(self.tasks, inputs)
        task_gate_inputs: dict[str, Tensor] = dict.fromkeys(self.tasks, h)
        shared_input: Any = inputs
        shared_gate_input: Any = h
        outputs = []
        for level in self.levels:
            out = level(task_inputs, shared_input, task_gate_inputs, shared_gate_input)
            outputs.append(out)
            task_inputs = task_gate_inputs = out.task_outputs
            shared_input = shared_gate_input = out.shared_output
        return outputs

    def forward(self, inputs: Mapping[str, Tensor]) -> ArchitectureOutput:
        levels = self.extract(inputs)
        aux = {}
        if self.load_balance_weight > 0:
            gates = [g for level in levels for g in level.gates()]
            aux[LOAD_BALANCE] = self.load_balance_weight * load_balance_loss(gates)
        last = levels[-1]
        return ArchitectureOutput(features=last.task_outputs, shared=last.shared_experts, aux_losses=aux)

    def feature_dim(self, task: str) -> int:
        return int(self.levels[-1].out_dim)

    def shared_parameters(self) -> list[nn.Parameter]:
        *lower, last = self.levels
        params = [*self.gate_input.parameters()]
        for level in lower:
            params += [*level.expert_parameters(), *level.shared_gate.parameters()]
        if self.num_task_experts > 0:
            params += [p for level in lower[:-1] for p in level.task_gates.parameters()]
        return params + list(last.shared_experts.parameters())

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return [p for expert in self.levels[-1].shared_experts for p in last_layer(expert).parameters()]

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "tasks": ["a", "b", "c"],
            "inputs": {"features": InputSpec((5,))},
            "encoder": {"name": "mlp", "hidden_dims": [6]},
            "num_levels": 3,
            "num_shared_experts": 2,
            "num_task_experts": 1,
            "expert_hidden_dims": [5, 4],
            "gate_encoder": {"name": "mlp", "hidden_dims": [3]},
            "load_balance_weight": 0.01,
        }


def encoder_experts(
    first: Encoder, encoder: Mapping[str, Any], inputs: Mapping[str, InputSpec]
) -> Iterator[nn.Module]:
    """``first``, then new encoders built from the ``encoder`` node, without end."""
    yield first
    while True:
        yield ENCODERS.build(encoder, inputs=inputs)


def mlp_experts(
    in_dim: int, hidden_dims: Sequence[int], activation: str, dropout: float
) -> Iterator[nn.Module]:
    """New MLP experts (Linear + activation (+ dropout) per width in ``hidden_dims``), without end."""
    while True:
        yield nn.Sequential(*mlp_layers(in_dim, hidden_dims, activation, dropout)[0])


def last_layer(expert: nn.Module) -> nn.Module:
    """An expert's last layer with parameters: the encoder's ``last_layer``, an MLP expert's last Linear."""
    if isinstance(expert, Encoder):
        return expert.last_layer
    return [m for m in expert.modules() if isinstance(m, nn.Linear)][-1]
