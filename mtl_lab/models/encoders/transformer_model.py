"""The Hugging Face model inside ``encoder=transformer``: built fresh from a config, or loaded from a
local directory, never downloaded; its pooler dropped; its embeddings and layers found.

- ``pretrained``: ``AutoModel.from_pretrained(dir, local_files_only=True)``, ``config`` keys overriding the
  saved config's (e.g. ``hidden_dropout_prob``);
- else a fresh model: ``AutoConfig.for_model(model_type, **(SMALL | config))`` (``model_type`` defaults to
  ``bert``), ``vocab_size`` the data's and ``max_position_embeddings`` its longest sequence unless set.

BERT's pooler (``tanh(W h_[CLS])``) is dropped: the encoder pools itself, and a parameter no loss
depends on breaks DDP (Lightning's default ``find_unused_parameters=False``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from torch import nn

from mtl_lab.errors import ConfigError
from mtl_lab.text.pretrained import MODEL_FILES, pretrained_directory

if TYPE_CHECKING:
    from transformers import PreTrainedModel

#: A fresh model's config where ``encoder.config`` leaves a key out (a 4-layer, 256-wide BERT).
SMALL: dict[str, Any] = {
    "hidden_size": 256,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "intermediate_size": 1024,
}


def build_model(
    pretrained: str | None,
    config: Mapping[str, Any],
    vocab_size: int | None,
    max_length: int,
) -> PreTrainedModel:
    """The model, checked against the data's token ids (``vocab_size``) and longest sequence."""
    from transformers import AutoConfig, AutoModel

    overrides = dict(config)
    if pretrained is not None:
        directory = pretrained_directory(pretrained, "encoder.pretrained", MODEL_FILES)
        saved = AutoConfig.from_pretrained(str(directory), local_files_only=True, **overrides)
        model = AutoModel.from_pretrained(str(directory), config=saved, local_files_only=True)
        model.train()  # from_pretrained returns eval mode (dropout off); Lightning keeps a module's modes
        where = f"encoder.pretrained {directory}"
    else:
        model_type = str(overrides.pop("model_type", "bert"))
        values = SMALL | {"max_position_embeddings": max_length} | overrides
        if vocab_size is not None:
            values.setdefault("vocab_size", vocab_size)
        if "vocab_size" not in values:
            raise ConfigError("encoder.config.vocab_size: the data's input_ids declare no vocab_size; set it")
        model = AutoModel.from_config(_fresh_config(model_type, values))
        where = "encoder.config"
    _check_fits(model.config, vocab_size, max_length, where)
    if isinstance(getattr(model, "pooler", None), nn.Module):
        model.pooler = None
    return model


def _fresh_config(model_type: str, values: dict[str, Any]) -> Any:
    from transformers import CONFIG_MAPPING, AutoConfig

    if model_type not in CONFIG_MAPPING:
        close = difflib.get_close_matches(model_type, list(CONFIG_MAPPING.keys()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"encoder.config.model_type: unknown model type {model_type!r}; choices: transformers' "
            f"AutoConfig model types, e.g. bert, roberta, distilbert{hint}"
        )
    try:
        return AutoConfig.for_model(model_type, **values)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"encoder.config: {' '.join(str(err).split())}") from None


def _check_fits(config: Any, vocab_size: int | None, max_length: int, where: str) -> None:
    model_vocab = getattr(config, "vocab_size", None)
    if vocab_size is not None and model_vocab is not None and model_vocab < vocab_size:
        raise ConfigError(
            f"{where}: the model has {model_vocab} token ids but the data's tokenizer {vocab_size}; use "
            "the model's own tokenizer (or a larger encoder.config.vocab_size)"
        )
    positions = getattr(config, "max_position_embeddings", None)
    if positions is not None and positions < max_length:
        raise ConfigError(
            f"{where}: max_position_embeddings is {positions} but the data's sequences reach {max_length} "
            "tokens; lower the data's max_length (or raise encoder.config.max_position_embeddings)"
        )


def transformer_layers(model: nn.Module) -> list[nn.Module]:
    """The model's transformer layers in order: its first ``ModuleList`` of ``num_hidden_layers``."""
    count = getattr(model.config, "num_hidden_layers", None)
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == count:
            return list(module)
    raise ConfigError(
        f"encoder: cannot find the {count} transformer layers of {type(model).__name__} "
        "(no ModuleList of num_hidden_layers modules)"
    )


def embeddings(model: nn.Module) -> nn.Module:
    """The model's input embeddings block (BERT's ``embeddings``: words, positions, types, LayerNorm)."""
    block = getattr(model, "embeddings", None)
    return block if isinstance(block, nn.Module) else model.get_input_embeddings()  # type: ignore[operator]
