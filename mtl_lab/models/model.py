"""MultiTaskModel: an architecture and one head per task, a plain ``nn.Module``.

    out = architecture(inputs)                     features per task, shared tensors, auxiliary losses
    predictions[t] = heads[t](out.features[t])     each head reads its own task's features only

It knows nothing of losses, weightings or Lightning: :class:`mtl_lab.module.MultiTaskModule` wraps it.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from mtl_lab.batch import ModelOutput
from mtl_lab.models.architectures import Architecture


class MultiTaskModel(nn.Module):
    def __init__(self, architecture: Architecture, heads: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.architecture = architecture
        self.heads = nn.ModuleDict(dict(heads))
        self.task_names = list(heads)

    def forward(self, inputs: Mapping[str, Tensor]) -> ModelOutput:
        out = self.architecture(inputs)
        predictions = {t: self.heads[t](out.features[t]) for t in self.task_names}
        return ModelOutput(
            predictions=predictions, features=out.features, shared=out.shared, aux_losses=out.aux_losses
        )


#: Top-level names of the model's parameters in checkpoints written before the model became one module.
LEGACY_PREFIXES = ("architecture.", "heads.")


def upgrade_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """A MultiTaskModule state dict with pre-MultiTaskModel keys (``architecture.*``, ``heads.*``) moved
    under ``model.``; current keys are unchanged."""
    return {(f"model.{k}" if k.startswith(LEGACY_PREFIXES) else k): v for k, v in state_dict.items()}
