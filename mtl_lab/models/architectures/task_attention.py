"""Task attention: one token per task after the shared encoder, and self-attention between the K tokens.

The project's formulation of inter-task attention on per-sample vectors, in the spirit of the cross-task
attention of MTFormer (Xu et al., ECCV 2022) and of the task tokens ("task prompts") of TaskPrompter
(Ye & Xu, ICLR 2023), which do it on spatial feature maps; the layers are post-norm Transformer layers
(Vaswani et al., 2017). For a sample with z = encoder(x) in R^D:

    h_t^0 = W_t z + b_t                                   in R^{d_model}, one projection per task
    a^l   = softmax_u(q_t . k_u / sqrt(d_model / heads))  per head; A^l = its mean over heads [K, K]
    h^l   = LN(h^{l-1} + Dropout(MHA(h^{l-1}, h^{l-1}, h^{l-1})))          l = 1..num_layers
    h^l   = LN(h^l + Dropout(FFN(h^l)))                   when ffn_dim > 0 (Linear-ReLU-Dropout-Linear)
    f_t   = h_t^L                                         task t's head reads output token t

so every task token attends to every task token. Dropout acts on the sublayer outputs and inside the
FFN, never on the attention probabilities: each row of A sums to 1.

Shared, per ``grad_level``: every task's features depend on the encoder, on every task's projection W_u
(through attention) and on every attention layer, so ``params`` = all of them; ``last_shared_layer`` =
the parameters of the last attention layer (its attention, norms and FFN); ``representation`` = z. The
features are not identity views of z, so representation statistics take one pass per task.

After each forward, :attr:`TaskAttentionArchitecture.latest_attention` holds the last layer's A averaged
over the batch (detached, [K, K]) and ``latest_samples`` the batch size; :meth:`callbacks` gives the
:class:`~mtl_lab.callbacks.task_attention.TaskAttentionMap` that averages them over validation epochs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.encoders import ENCODERS, Encoder

if TYPE_CHECKING:
    from pytorch_lightning import Callback


class TaskAttentionLayer(nn.Module):
    """h <- LN(h + Dropout(MHA(h, h, h))), then h <- LN(h + Dropout(FFN(h))) when ``ffn_dim`` > 0."""

    def __init__(self, d_model: int, num_heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(d_model, num_heads, batch_first=True)
        self.attention_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.ffn: nn.Sequential | None = None
        self.ffn_norm: nn.LayerNorm | None = None
        if ffn_dim > 0:
            self.ffn = nn.Sequential(
                nn.Linear(d_model, ffn_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ffn_dim, d_model)
            )
            self.ffn_norm = nn.LayerNorm(d_model)

    def forward(self, h: Tensor, need_weights: bool) -> tuple[Tensor, Tensor | None]:
        """[B, K, d_model] -> (the same shape, the head-averaged attention [B, K, K] or None)."""
        attended, weights = self.attention(h, h, h, need_weights=need_weights, average_attn_weights=True)
        h = self.attention_norm(h + self.dropout(attended))
        if self.ffn is not None and self.ffn_norm is not None:
            h = self.ffn_norm(h + self.dropout(self.ffn(h)))
        return h, weights


def check_settings(d_model: int, num_heads: int, num_layers: int, ffn_dim: int, dropout: float) -> None:
    """One-line :class:`ConfigError` for sizes that do not make a task-attention stack."""
    if d_model < 1:
        raise ConfigError(f"architecture.d_model: must be >= 1, got {d_model}")
    if num_heads < 1:
        raise ConfigError(f"architecture.num_heads: must be >= 1, got {num_heads}")
    if d_model % num_heads:
        raise ConfigError(
            f"architecture.d_model: {d_model} is not divisible by architecture.num_heads={num_heads}"
        )
    if num_layers < 1:
        raise ConfigError(f"architecture.num_layers: needs at least 1 attention layer, got {num_layers}")
    if ffn_dim < 0:
        raise ConfigError(f"architecture.ffn_dim: must be >= 0 (0 = no feed-forward block), got {ffn_dim}")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"architecture.dropout: must be in [0, 1), got {dropout}")


@ARCHITECTURES.register("task_attention")
class TaskAttentionArchitecture(Architecture):
    """Shared encoder, one projection per task, ``num_layers`` attention layers over the K task tokens."""

    def __init__(
        self,
        tasks: Sequence[str],
        inputs: Mapping[str, InputSpec],
        encoder: Mapping[str, Any],
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 1,
        ffn_dim: int = 0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_settings(d_model, num_heads, num_layers, ffn_dim, dropout)
        self.tasks = list(tasks)
        self.d_model = d_model
        self.encoder: Encoder = ENCODERS.build(encoder, inputs=inputs)
        self.projections = nn.ModuleList(nn.Linear(self.encoder.out_dim, d_model) for _ in self.tasks)
        self.layers = nn.ModuleList(
            TaskAttentionLayer(d_model, num_heads, ffn_dim, dropout) for _ in range(num_layers)
        )
        #: The last layer's attention of the latest forward, averaged over batch and heads ([K, K],
        #: detached; rows: query tasks, columns: key tasks); None before the first forward.
        self.latest_attention: Tensor | None = None
        #: The batch size of the latest forward (the weight of ``latest_attention`` in an average).
        self.latest_samples = 0

    def forward(self, inputs: Mapping[str, Tensor]) -> ArchitectureOutput:
        z = self.encoder(inputs)
        h = torch.stack([projection(z) for projection in self.projections], dim=1)  # [B, K, d_model]
        for layer in self.layers[:-1]:
            h, _ = layer(h, need_weights=False)
        h, weights = self.layers[-1](h, need_weights=True)
        assert weights is not None  # asked for
        self.latest_attention = weights.detach().mean(dim=0)
        self.latest_samples = z.shape[0]
        return ArchitectureOutput(features={t: h[:, k] for k, t in enumerate(self.tasks)}, shared=(z,))

    def feature_dim(self, task: str) -> int:
        return self.d_model

    def shared_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.projections.parameters(), *self.layers.parameters()]

    def last_shared_parameters(self) -> list[nn.Parameter]:
        return list(self.layers[-1].parameters())

    def callbacks(self) -> list[Callback]:
        # imported here: mtl_lab.callbacks imports the module, which imports the architectures
        from mtl_lab.callbacks.task_attention import TaskAttentionMap

        return [TaskAttentionMap(self)]

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "tasks": ["a", "b", "c"],
            "inputs": {"features": InputSpec((5,))},
            "encoder": {"name": "mlp", "hidden_dims": [8, 6]},
            "d_model": 8,
            "num_heads": 2,
            "num_layers": 2,
            "ffn_dim": 12,
        }
