"""Per-task state of a strategy under missing labels (see :mod:`mtl_lab.weighting.base`).

- :class:`HeldEntries`: learnable per-task parameters (uncertainty's log-variances, GradNorm's weights)
  are moved by the model's optimizer, whose momentum (Adam) moves an entry even when its gradient is 0.
  The strategy remembers the missing tasks' entries in ``forward`` and puts them back in
  ``on_after_optimizer_step`` (run after every optimizer step). Under gradient accumulation a task
  missing from the LAST micro-batch of an optimizer step keeps its value of that micro-batch.
- :func:`upgrade_scalar_counters`: counters that became per task ([K]) were one scalar in checkpoints
  written before; such a scalar is expanded to every task on load.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn


class HeldEntries:
    """The entries of one [K] parameter that belong to missing tasks, held across an optimizer step."""

    def __init__(self) -> None:
        self.missing: Tensor | None = None
        self.values: Tensor | None = None

    def remember(self, parameter: Tensor, present: Tensor) -> None:
        """Called in ``forward``: note the current values and which tasks are missing."""
        self.missing = ~present.to(parameter.device)
        self.values = parameter.detach().clone()

    @torch.no_grad()
    def restore(self, parameter: Tensor) -> Tensor | None:
        """Called after the optimizer step: put the missing tasks' values back; returns the missing mask
        (None when ``forward`` did not run since the last call) and forgets it."""
        missing, values = self.missing, self.values
        self.missing = self.values = None
        if missing is None or values is None:
            return None
        parameter.copy_(torch.where(missing, values, parameter))
        return missing


def upgrade_scalar_counters(module: nn.Module, names: Sequence[str]) -> None:
    """On ``load_state_dict``, expand a saved 0-d tensor to the module's [K] buffer of the same name."""

    def hook(owner: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        for name in names:
            saved, own = state_dict.get(prefix + name), getattr(owner, name)
            if isinstance(saved, Tensor) and saved.dim() == 0 and own.dim() == 1:
                state_dict[prefix + name] = saved.to(own.dtype).expand_as(own).clone()

    module.register_load_state_dict_pre_hook(hook)
