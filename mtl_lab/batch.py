"""The typed contracts of one training step: what loaders yield and what the model returns.

- :class:`InputSpec`: one named model input as the data declares it (per-sample shape, dtype, category
  counts). Encoders are built from the data's ``{name: InputSpec}`` and read the names they declare.
- :class:`Batch`: ``inputs`` ``{name: Tensor[B, ...]}`` (``{"image": x}``, ``{"numeric": ..,
  "categorical": ..}``, ``{"input_ids": .., "attention_mask": ..}``), ``targets`` ``{task: Tensor[B, ...]}``
  of any trailing shape (per sample, per token, per pixel) and ``masks`` ``{task: bool[B, ...]}`` (True =
  labelled; a task without a mask is labelled everywhere; a task without targets has no labels in the
  batch). ``size`` is B.
- :class:`ModelOutput`: ``predictions`` and ``features`` per task, the ``shared`` tensors (one for hard
  sharing, several for architectures that share several) and ``aux_losses`` (an architecture's own
  terms, added to the objective; usually none).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from mtl_lab.errors import DataError


@dataclass(frozen=True)
class InputSpec:
    """One named input, per sample: ``shape`` (no batch dimension), ``dtype`` and, for integer category
    inputs (one column per categorical feature), ``cardinalities``: the number of ids of each column."""

    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    cardinalities: tuple[int, ...] = ()

    def example(self, batch_size: int, generator: torch.Generator | None = None) -> Tensor:
        """A random batch of this input: ids in range for category inputs, standard normal floats."""
        if self.cardinalities:
            columns = [torch.randint(0, c, (batch_size, 1), generator=generator) for c in self.cardinalities]
            return torch.cat(columns, dim=1).to(self.dtype)
        if self.dtype.is_floating_point:
            return torch.randn(batch_size, *self.shape, generator=generator).to(self.dtype)
        return torch.randint(0, 2, (batch_size, *self.shape), generator=generator).to(self.dtype)


def example_inputs(specs: Mapping[str, InputSpec], batch_size: int, seed: int = 0) -> dict[str, Tensor]:
    """A random batch of every input in ``specs`` (used by the components' contract tests)."""
    generator = torch.Generator().manual_seed(seed)
    return {name: spec.example(batch_size, generator) for name, spec in specs.items()}


@dataclass
class Batch:
    """One batch of samples (see the module docstring)."""

    inputs: dict[str, Tensor]
    targets: dict[str, Tensor]
    masks: dict[str, Tensor] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(next(iter(self.inputs.values())).shape[0])

    def labelled(self, task: str) -> Tensor | None:
        """Task ``task``'s mask (True = labelled), or None when every element is labelled."""
        return self.masks.get(task)


@dataclass
class ModelOutput:
    """What :class:`mtl_lab.models.model.MultiTaskModel` returns (see the module docstring)."""

    predictions: dict[str, Tensor]
    features: dict[str, Tensor]
    shared: tuple[Tensor, ...]
    aux_losses: dict[str, Tensor] = field(default_factory=dict)


def labelled_units(
    predictions: Mapping[str, Tensor], batch: Batch, tasks: Sequence[str]
) -> Iterator[tuple[str, Tensor, Tensor]]:
    """(task, prediction, target) of the labelled units, for every task with labels in the batch."""
    for task in tasks:
        target = batch.targets.get(task)
        if target is None:
            continue
        prediction, mask = predictions[task], batch.labelled(task)
        if mask is not None:
            prediction, target = prediction[mask], target[mask]
        if target.shape[0] > 0:
            yield task, prediction, target


def concat_batches(batches: Sequence[Batch]) -> Batch:
    """One batch holding the rows of ``batches`` in order (one dataset per task, a step of every task).

    Inputs must have the same names and per-sample shapes. A task's targets fill the rows of the batches
    that carry it; the other rows get zeros and a False mask, so they count as unlabelled.
    """
    first = batches[0]
    for batch in batches[1:]:
        if batch.inputs.keys() != first.inputs.keys() or any(
            batch.inputs[n].shape[1:] != first.inputs[n].shape[1:] for n in first.inputs
        ):
            raise DataError(
                f"per-task batches have different inputs: {_shapes(first)} and {_shapes(batch)}; one shared "
                "model needs the same inputs from every source"
            )
    inputs = {name: torch.cat([b.inputs[name] for b in batches]) for name in first.inputs}
    sizes = [b.size for b in batches]
    targets: dict[str, Tensor] = {}
    masks: dict[str, Tensor] = {}
    offset = 0
    for batch, size in zip(batches, sizes, strict=True):
        for task, target in batch.targets.items():
            if task in targets:
                raise DataError(f"per-task batches: task {task!r} comes from two sources")
            full = target.new_zeros((sum(sizes), *target.shape[1:]))
            full[offset : offset + size] = target
            mask = torch.zeros(full.shape[: max(1, _mask_dims(batch, task))], dtype=torch.bool)
            own = batch.labelled(task)
            mask[offset : offset + size] = True if own is None else own
            targets[task], masks[task] = full, mask
        offset += size
    return Batch(inputs=inputs, targets=targets, masks=masks)


def _mask_dims(batch: Batch, task: str) -> int:
    mask = batch.labelled(task)
    return 1 if mask is None else mask.dim()


def _shapes(batch: Batch) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape[1:]) for name, t in batch.inputs.items()}
