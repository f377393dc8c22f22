"""Gates of the mixture-of-experts architectures (MMoE, CGC, PLE): what the first gates read, the softmax
gate, the gated sum of experts and the expert load-balancing loss.

Gate input (:class:`GateInput`), the feature vector h that every first-level gate reads:

- ``gate_encoder`` given (any encoder node, e.g. ``{name: cnn, channels: [8], out_dim: 16}``): its
  output, h = gate_encoder(inputs);
- else, when the experts read one flat float vector x (an input of shape (d,), not category ids): x itself,
  as in the MMoE paper (g = softmax(W x));
- else (an image, a table with categorical columns, several inputs): a copy of the ``encoder`` node (same
  kind and sizes, its own weights), h = encoder'(inputs). A raw image is never flattened into a gate.

One gate encoder serves all first-level gates, so its parameters are shared by every task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders import ENCODERS, Encoder

LOAD_BALANCE = "load_balance"


def check_count(key: str, value: int, minimum: int, why: str = "") -> None:
    """Refuse ``value < minimum`` with one line naming ``architecture.<key>`` and the value."""
    if value < minimum:
        raise ConfigError(f"architecture.{key}: needs an integer >= {minimum}{why}, got {value}")


def check_load_balance_weight(weight: float) -> None:
    if weight < 0:
        raise ConfigError(f"architecture.load_balance_weight: needs a value >= 0 (0: off), got {weight}")


def is_flat_vector(spec: InputSpec) -> bool:
    """One float vector per sample: shape (d,), not category ids."""
    return len(spec.shape) == 1 and spec.dtype.is_floating_point and not spec.cardinalities


class GateInput(nn.Module):
    """h, the features the first-level gates read (see the module docstring); ``out_dim`` is its size."""

    def __init__(
        self,
        inputs: Mapping[str, InputSpec],
        encoder: Mapping[str, Any],
        expert: Encoder,
        gate_encoder: Mapping[str, Any] | None,
    ) -> None:
        super().__init__()
        names = expert.input_names
        self.encoder: Encoder | None = None
        self.input_name = names[0]  # read directly when there is no gate encoder
        if gate_encoder is not None:
            try:
                self.encoder = ENCODERS.build(gate_encoder, inputs=inputs)
            except ConfigError as err:
                raise ConfigError(f"architecture.gate_encoder: {err}") from err
        elif len(names) != 1 or not is_flat_vector(inputs[names[0]]):
            self.encoder = ENCODERS.build(encoder, inputs=inputs)
        self.out_dim = self.encoder.out_dim if self.encoder is not None else inputs[names[0]].shape[0]

    def forward(self, inputs: Mapping[str, Tensor]) -> Tensor:
        return inputs[self.input_name] if self.encoder is None else self.encoder(inputs)


class Gate(nn.Module):
    """g = softmax(W h + b) over ``num_experts`` experts: [B, in_dim] -> [B, num_experts], rows sum to 1."""

    def __init__(self, in_dim: int, num_experts: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, num_experts)

    def forward(self, h: Tensor) -> Tensor:
        return torch.softmax(self.linear(h), dim=-1)


def mix(gate: Tensor, experts: Tensor) -> Tensor:
    """The gated sum z[b] = Σ_e gate[b, e] · experts[b, e]: [B, E] and [B, E, D] -> [B, D]."""
    return torch.einsum("be,bed->bd", gate, experts)


def load_balance_loss(gates: Iterable[Tensor]) -> Tensor:
    """Σ over gates of CV(importance)², importance_e = Σ_b g[b, e] (Shazeer et al., ICLR 2017, eq. 6;
    population variance, as in their tensor2tensor code). Zero when every expert gets the same total
    weight, and for a gate over one expert."""
    terms = [cv_squared(g.sum(dim=0)) for g in gates]
    return torch.stack(terms).sum()


def cv_squared(values: Tensor) -> Tensor:
    """Squared coefficient of variation var(v) / mean(v)² (ε = 1e-10 keeps a zero mean finite)."""
    values = values.float()
    return values.var(correction=0) / (values.mean() ** 2 + 1e-10)
