"""The typed contracts of one training step: what loaders yield and what the model returns.

- :class:`InputSpec`: one named model input as the data declares it (per-sample shape, dtype, category
  counts). Encoders are built from the data's ``{name: InputSpec}`` and read the names they declare.
- :class:`Batch`: ``inputs`` ``{name: Tensor[B, ...]}`` (``{"image": x}``, ``{"numeric": ..,
  "categorical": ..}``, text: ``{"input_ids": .., "attention_mask": ..}`` of shape [B, T], T the
  batch's longest sequence), ``targets`` ``{task: Tensor[B, ...]}``
  of any trailing shape (per sample, per token, per pixel) and ``masks`` ``{task: bool[B, ...]}`` (True =
  labelled; a task without a mask is labelled everywhere; a task without targets has no labels in the
  batch). ``size`` is B.
- :class:`ModelOutput`: ``predictions`` and ``features`` per task, the ``shared`` tensors (one for hard
  sharing, several for architectures that share several) and ``aux_losses`` (an architecture's own
  terms, added to the objective; usually none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from mtl_lab.errors import DataError


@dataclass(frozen=True)
class InputSpec:
    """One named input, per sample: ``shape`` (no batch dimension), ``dtype`` and, for integer category
    inputs (one column per categorical feature), ``cardinalities``: the number of ids of each column.
    For token id sequences, ``vocab_size`` is the number of token ids and ``shape`` ``(max_length,)``
    the longest sequence: batches are padded to their own longest, so may be shorter."""

    shape: tuple[int, ...]
    dtype: torch.dtype = torch.float32
    cardinalities: tuple[int, ...] = ()
    vocab_size: int | None = None

    def example(self, batch_size: int, generator: torch.Generator | None = None) -> Tensor:
        """A random batch of this input: ids in range for category inputs and token ids, standard normal
        floats."""
        if self.vocab_size is not None:
            return torch.randint(0, self.vocab_size, (batch_size, *self.shape), generator=generator).to(
                self.dtype
            )
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


def concat_batches(batches: Sequence[Batch]) -> Batch:
    """One batch holding the rows of ``batches`` in order (one dataset per task, a step of every task).

    Inputs must have the same names and per-sample shapes, except sequence inputs: integer or boolean
    [B, T] inputs (token ids, attention masks), which are right-padded with 0 to the longest T of the
    batches (a pad token id of 0 is harmless where the attention mask is 0). A task's targets fill the
    rows of the batches that carry it; the other rows get zeros and a False mask, so they count as
    unlabelled. A per-token target (its mask [B, T], T its batch's sequence length) is padded to the
    longest T too, the padding unlabelled.
    """
    first = batches[0]
    sequences = _sequence_inputs(batches)
    for batch in batches[1:]:
        if batch.inputs.keys() != first.inputs.keys() or any(
            _fixed(batch.inputs[n], n in sequences) != _fixed(first.inputs[n], n in sequences)
            for n in first.inputs
        ):
            raise DataError(
                f"per-task batches have different inputs: {_shapes(first)} and {_shapes(batch)}; one shared "
                "model needs the same inputs from every source"
            )
    width = max((b.inputs[n].shape[1] for b in batches for n in sequences), default=0)
    inputs = {
        name: torch.cat(
            [_pad(b.inputs[name], width) if name in sequences else b.inputs[name] for b in batches]
        )
        for name in first.inputs
    }
    sizes = [b.size for b in batches]
    targets: dict[str, Tensor] = {}
    masks: dict[str, Tensor] = {}
    offset = 0
    for batch, size in zip(batches, sizes, strict=True):
        lengths = {batch.inputs[n].shape[1] for n in sequences}
        for task, target in batch.targets.items():
            if task in targets:
                raise DataError(f"per-task batches: task {task!r} comes from two sources")
            own = batch.labelled(task)
            if (
                own is not None
                and own.dim() == 2
                and own.shape[1] in lengths
                and target.shape[:2] == own.shape
            ):
                target, own = _pad(target, width), _pad(own, width)
            full = target.new_zeros((sum(sizes), *target.shape[1:]))
            full[offset : offset + size] = target
            mask = torch.zeros(full.shape[: max(1, _mask_dims(batch, task))], dtype=torch.bool)
            mask[offset : offset + size] = True if own is None else own
            targets[task], masks[task] = full, mask
        offset += size
    return Batch(inputs=inputs, targets=targets, masks=masks)


def _sequence_inputs(batches: Sequence[Batch]) -> set[str]:
    """Names of the integer/boolean [B, T] inputs whose T differs between ``batches``."""
    first = batches[0]
    names = set()
    for name, value in first.inputs.items():
        if value.dim() != 2 or value.dtype.is_floating_point or value.dtype.is_complex:
            continue
        others = [b.inputs.get(name) for b in batches[1:]]
        if all(o is not None and o.dim() == 2 and o.dtype == value.dtype for o in others) and any(
            o.shape[1] != value.shape[1] for o in others if o is not None
        ):
            names.add(name)
    return names


def _fixed(value: Tensor, sequence: bool) -> tuple[int, ...]:
    """The per-sample shape that must agree between batches (a sequence's length may differ)."""
    return tuple(value.shape[2 if sequence else 1 :])


def _pad(value: Tensor, width: int) -> Tensor:
    """``value`` [B, T, ...] right-padded with zeros (False) to [B, width, ...]."""
    if value.shape[1] >= width:
        return value
    padding = value.new_zeros((value.shape[0], width - value.shape[1], *value.shape[2:]))
    return torch.cat([value, padding], dim=1)


def _mask_dims(batch: Batch, task: str) -> int:
    mask = batch.labelled(task)
    return 1 if mask is None else mask.dim()


def _shapes(batch: Batch) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape[1:]) for name, t in batch.inputs.items()}
