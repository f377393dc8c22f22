"""What of ``encoder=transformer`` trains, and how: ``freeze``, ``lora``, ``gradient_checkpointing``.

- ``freeze: {embeddings: bool, layers: N}``: the embeddings and/or the first N transformer layers keep
  ``requires_grad=False`` (the optimizer and every gradient statistic leave them out).
- ``lora: {r, alpha, dropout, target_modules}``: LoRA (Hu et al., 2021) through peft: each targeted
  linear map W x becomes W x + (alpha / r) B A x with A [r, in], B [out, r] (B = 0 at the start); W and
  every other base weight are frozen, only A and B train.
- ``gradient_checkpointing``: the layers' activations are recomputed in the backward pass (non-reentrant
  checkpoints: frozen inputs and the extra gradient passes of the statistics are handled).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from mtl_lab.errors import ConfigError

FREEZE_KEYS = {"embeddings": False, "layers": 0}
LORA_KEYS: dict[str, Any] = {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": ["query", "value"]}


def _with_defaults(key: str, node: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    unknown = [k for k in (node or {}) if k not in defaults]
    if unknown:
        raise ConfigError(f"{key}: unexpected key {unknown[0]!r}; accepted keys: {', '.join(defaults)}")
    return {**defaults, **(node or {})}


def freeze_modules(
    node: Mapping[str, Any] | None, embeddings: nn.Module, layers: Sequence[nn.Module]
) -> tuple[bool, int]:
    """Freeze what ``node`` names; returns (embeddings frozen, number of frozen layers)."""
    values = _with_defaults("encoder.freeze", node, FREEZE_KEYS)
    frozen_embeddings, count = values["embeddings"], values["layers"]
    if not isinstance(frozen_embeddings, bool):
        raise ConfigError(f"encoder.freeze.embeddings: expected true or false, got {frozen_embeddings!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= len(layers):
        raise ConfigError(
            f"encoder.freeze.layers: {count!r} is not a number of layers of the model (0..{len(layers)})"
        )
    modules = ([embeddings] if frozen_embeddings else []) + list(layers[:count])
    for module in modules:
        module.requires_grad_(False)
    return frozen_embeddings, count


def _linear_names(model: nn.Module) -> list[str]:
    """The names of the modules LoRA can adapt (linear, embedding, conv), last part of their path."""
    kinds = (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d)
    found = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, kinds) and name}
    try:  # GPT-2's Conv1D is transformers' own linear map
        from transformers.pytorch_utils import Conv1D

        found |= {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, Conv1D)}
    except ImportError:  # pragma: no cover - older transformers
        pass
    return sorted(found)


def add_lora(model: nn.Module, node: Mapping[str, Any]) -> nn.Module:
    """``model`` wrapped by peft with LoRA adapters on ``target_modules`` (base weights frozen)."""
    from peft import LoraConfig, get_peft_model

    values = _with_defaults("encoder.lora", node, LORA_KEYS)
    targets = values["target_modules"]
    if isinstance(targets, str) or not targets:
        raise ConfigError(f"encoder.lora.target_modules: expected a list of module names, got {targets!r}")
    names = [name for name, _ in model.named_modules()]
    adaptable = _linear_names(model)
    for target in targets:
        if not any(n == target or n.endswith(f".{target}") for n in names):
            raise ConfigError(
                f"encoder.lora.target_modules: no module {target!r} in {type(model).__name__}; "
                f"modules that exist: {', '.join(adaptable)}"
            )
    r = values["r"]
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ConfigError(f"encoder.lora.r: expected a rank >= 1, got {r!r}")
    config = LoraConfig(
        r=r,
        lora_alpha=values["alpha"],
        lora_dropout=float(values["dropout"]),
        target_modules=list(targets),
    )
    try:
        with warnings.catch_warnings():  # peft reads transformers' deprecated is_gradient_checkpointing
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
            return get_peft_model(model, config)  # type: ignore[arg-type]
    except ValueError as err:  # e.g. a targeted module of a kind LoRA does not adapt
        raise ConfigError(
            f"encoder.lora: {' '.join(str(err).split())}; modules that exist: {', '.join(adaptable)}"
        ) from None


def enable_checkpointing(model: nn.Module) -> None:
    """Activation checkpointing on every layer, non-reentrant."""
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable({"use_reentrant": False})
    if getattr(model.config, "use_cache", False):  # an encoder caches nothing; silences a warning per run
        model.config.use_cache = False
