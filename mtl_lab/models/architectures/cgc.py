"""Customized Gate Control (Tang et al., RecSys 2020, §4.2): PLE with one extraction layer, the case
``num_levels = 1`` of :class:`~mtl_lab.models.architectures.ple.PLEArchitecture` (same modules).

Per task ``num_task_experts`` experts, ``num_shared_experts`` shared experts (all encoders built from the
``encoder`` node); task t's features are y_t = Σ g_t · [task t's experts, shared experts], no shared gate.

What is shared, per ``grad_level``: ``representation``, the shared experts' outputs (``shared``);
``params``, the shared experts and the gate encoder (when there is one); ``last_shared_layer``, each
shared expert's last layer. Task experts and gates are their task's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtl_lab.batch import InputSpec
from mtl_lab.models.architectures.base import ARCHITECTURES
from mtl_lab.models.architectures.ple import PLEArchitecture


@ARCHITECTURES.register("cgc")
class CGCArchitecture(PLEArchitecture):
    """One extraction layer: per-task and shared experts, one gate per task (see the module docstring)."""

    def __init__(
        self,
        tasks: Sequence[str],
        inputs: Mapping[str, InputSpec],
        encoder: Mapping[str, Any],
        num_shared_experts: int = 1,
        num_task_experts: int = 1,
        gate_encoder: Mapping[str, Any] | None = None,
        load_balance_weight: float = 0.0,
    ) -> None:
        super().__init__(
            tasks,
            inputs,
            encoder,
            num_levels=1,
            num_shared_experts=num_shared_experts,
            num_task_experts=num_task_experts,
            gate_encoder=gate_encoder,
            load_balance_weight=load_balance_weight,
        )

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "tasks": ["a", "b", "c"],
            "inputs": {"features": InputSpec((5,))},
            "encoder": {"name": "mlp", "hidden_dims": [6, 4]},
            "num_shared_experts": 2,
            "num_task_experts": 1,
        }
