"""Tabular encoder: one embedding per categorical column, concatenated with the numeric columns, then an
MLP (Linear + activation (+ dropout) per hidden layer). The natural encoder of ``data=table``.

Reads ``numeric`` (float [B, n_numeric], standardised by the data) and ``categorical`` (ids [B, n_cat],
one column per categorical feature, id 0 the unknown/missing slot), whichever the data gives. Column j
gets an embedding of ``embedding_dim`` (null: min(16, round(1.6 * n_j^0.56)), the fast.ai rule of thumb,
n_j the column's number of ids) and ``embedding_dropout`` is applied to the concatenated embeddings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders.base import ENCODERS, Encoder, mlp_layers

NUMERIC, CATEGORICAL = "numeric", "categorical"


def default_embedding_dim(cardinality: int) -> int:
    return max(1, min(16, round(1.6 * cardinality**0.56)))


@ENCODERS.register("tabular")
class TabularEncoder(Encoder):
    def __init__(
        self,
        inputs: Mapping[str, InputSpec],
        hidden_dims: Sequence[int] = (128, 64),
        embedding_dim: int | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
        embedding_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not hidden_dims:
            raise ConfigError("encoder.hidden_dims: needs at least one layer width, got []")
        self.input_names = tuple(name for name in (NUMERIC, CATEGORICAL) if name in inputs)
        if not self.input_names:
            raise ConfigError(
                f"encoder.name: 'tabular' reads the inputs 'numeric' and/or 'categorical' of data=table; "
                f"the data gives {', '.join(inputs)}"
            )
        cardinalities = inputs[CATEGORICAL].cardinalities if CATEGORICAL in inputs else ()
        self.embeddings = nn.ModuleList(
            nn.Embedding(int(n), embedding_dim or default_embedding_dim(int(n))) for n in cardinalities
        )
        self.embedding_dropout = nn.Dropout(embedding_dropout) if embedding_dropout > 0 else nn.Identity()
        in_dim = sum(e.embedding_dim for e in self.embeddings)
        in_dim += inputs[NUMERIC].shape[0] if NUMERIC in inputs else 0
        layers, self.out_dim = mlp_layers(in_dim, hidden_dims, activation, dropout)
        self.mlp = nn.Sequential(*layers)
        self._last = [m for m in layers if isinstance(m, nn.Linear)][-1]

    @property
    def last_layer(self) -> nn.Module:
        return self._last

    def forward(self, inputs: Mapping[str, Tensor]) -> Tensor:
        parts = []
        if self.embeddings:
            ids = inputs[CATEGORICAL]
            embedded = [embedding(ids[:, j]) for j, embedding in enumerate(self.embeddings)]
            parts.append(self.embedding_dropout(torch.cat(embedded, dim=1)))
        if NUMERIC in self.input_names:
            parts.append(inputs[NUMERIC])
        return self.mlp(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0])

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "inputs": {
                NUMERIC: InputSpec((3,)),
                CATEGORICAL: InputSpec((2,), torch.long, cardinalities=(4, 7)),
            },
            "hidden_dims": [8, 6],
        }
