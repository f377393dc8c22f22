"""Hard parameter sharing (Caruana, 1997): one encoder for all tasks, one head per task.

Shared: the whole encoder (``params``); its last layer (``last_shared_layer``); its output z
(``representation``), which every head reads through its own identity view, so one backward pass gives
all K representation gradients.

With token-level tasks (``token_tasks``, a :class:`~mtl_lab.models.encoders.SequenceEncoder`): the
encoder gives per-token states H [B, T, D] and the pooled vector p(H) [B, D] (a parameter-free function
of H). Token tasks read H (each through its own identity view), sentence tasks read p(H), and the shared
representation is H: every head's output depends on it. The sentence tasks' features are then no view
of H, so representation statistics take one pass per task (:func:`mtl_lab.gradients.one_pass_views`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.encoders import ENCODERS, Encoder, SequenceEncoder


@ARCHITECTURES.register("shared")
class SharedArchitecture(Architecture):
    supports_token_tasks = True

    def __init__(
        self,
        tasks: Sequence[str],
        inputs: Mapping[str, InputSpec],
        encoder: Mapping[str, Any],
        token_tasks: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.tasks = list(tasks)
        unknown = [t for t in token_tasks if t not in self.tasks]
        if unknown:
            raise ConfigError(f"architecture.token_tasks: {unknown[0]!r} is not a task ({', '.join(tasks)})")
        self.token_tasks = tuple(token_tasks)
        self.encoder: Encoder = ENCODERS.build(encoder, inputs=inputs)
        if self.token_tasks and not isinstance(self.encoder, SequenceEncoder):
            raise ConfigError(
                f"encoder={encoder.get('name')}: token tasks ({', '.join(self.token_tasks)}) need per-token "
                "features; use encoder=transformer"
            )

    def forward(self, inputs: Mapping[str, Tensor]) -> ArchitectureOutput:
        if not self.token_tasks:
            z = self.encoder(inputs)
            return ArchitectureOutput(features={t: z.view_as(z) for t in self.tasks}, shared=(z,))
        assert isinstance(self.encoder, SequenceEncoder)
        tokens, pooled = self.encoder.encode(inputs)
        features = {
            t: tokens.view_as(tokens) if t in self.token_tasks else pooled.view_as(pooled) for t in self.tasks
        }
        return ArchitectureOutput(features=features, shared=(tokens,))

    def feature_dim(self, task: str) -> int:
        return self.encoder.out_dim

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters())

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.last_layer.parameters())

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "tasks": ["a", "b"],
            "inputs": {"features": InputSpec((5,))},
            "encoder": {"name": "mlp", "hidden_dims": [8, 6]},
        }
