"""``transformer``: a Hugging Face encoder (BERT and its kin) over token id sequences.

Reads ``input_ids`` [B, T] and, when the data gives them, ``attention_mask`` (1 = token, 0 = padding)
and ``token_type_ids``. ``encode`` gives the last layer's hidden states h [B, T, D] (``tokens``, what
token-level tasks read) and one vector per sequence (``pooled``, what ``forward`` returns):

- ``pooling: cls``: h[:, 0], the first ([CLS]) token's state (Devlin et al., 2019);
- ``pooling: mean``: sum_t m_t h_t / sum_t m_t over the attention mask m (padding never counts).

The model is a local ``pretrained`` directory or a fresh one from ``config``
(:mod:`~mtl_lab.models.encoders.transformer_model`); ``freeze``, ``lora`` and ``gradient_checkpointing``
say what trains (:mod:`~mtl_lab.models.encoders.transformer_tuning`). ``last_layer`` is the last
transformer layer. transformers and peft are imported only when this encoder is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError
from mtl_lab.models.encoders.base import ENCODERS, SequenceEncoder
from mtl_lab.models.encoders.transformer_model import build_model, embeddings, transformer_layers
from mtl_lab.models.encoders.transformer_tuning import add_lora, enable_checkpointing, freeze_modules

TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _text_inputs(inputs: Mapping[str, InputSpec]) -> tuple[str, ...]:
    spec = inputs.get("input_ids")
    if spec is None:
        raise ConfigError(
            f"encoder=transformer reads the inputs input_ids (and attention_mask, token_type_ids), but the "
            f"data gives {', '.join(inputs) or 'none'}; use text data"
        )
    if len(spec.shape) != 1 or spec.dtype.is_floating_point:
        raise ConfigError(
            f"encoder=transformer needs integer token ids of shape (max_length,), but the data's input_ids "
            f"are {spec.dtype} of shape {spec.shape}"
        )
    return tuple(name for name in TEXT_INPUTS if name in inputs)


@ENCODERS.register("transformer")
class TransformerEncoder(SequenceEncoder):
    """A Hugging Face encoder; see the module docstring for the keys."""

    def __init__(
        self,
        inputs: Mapping[str, InputSpec],
        pretrained: str | None = None,
        config: Mapping[str, Any] | None = None,
        pooling: Literal["cls", "mean"] = "cls",
        freeze: Mapping[str, Any] | None = None,
        gradient_checkpointing: bool = False,
        lora: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.input_names = _text_inputs(inputs)
        ids = inputs["input_ids"]
        model = build_model(pretrained, config or {}, ids.vocab_size, ids.shape[0])
        layers = transformer_layers(model)
        self.frozen_embeddings, self.frozen_layers = freeze_modules(freeze, embeddings(model), layers)
        if gradient_checkpointing:
            try:
                enable_checkpointing(model)
            except ValueError as err:
                raise ConfigError(f"encoder.gradient_checkpointing: {err}") from None
        self.model: nn.Module = model if lora is None else add_lora(model, lora)
        self.pooling = pooling
        self.out_dim = int(model.config.hidden_size)
        self._layers = layers  # a plain list: the layers are registered once, inside self.model

    @property
    def last_layer(self) -> nn.Module:
        return self._layers[-1]

    def encode(self, inputs: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        given = {name: inputs[name] for name in self.input_names}
        tokens = self.model(**given).last_hidden_state
        mask = given.get("attention_mask")
        if self.pooling == "cls":
            pooled = tokens[:, 0]
        elif mask is None:
            pooled = tokens.mean(dim=1)
        else:
            weights = mask.to(tokens.dtype).unsqueeze(-1)
            pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)
        return tokens, pooled

    @classmethod
    def example(cls) -> dict[str, Any]:
        return {
            "inputs": {
                "input_ids": InputSpec((8,), torch.long, vocab_size=30),
                "attention_mask": InputSpec((8,), torch.long),
            },
            "config": {
                "hidden_size": 16,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "intermediate_size": 32,
            },
        }
