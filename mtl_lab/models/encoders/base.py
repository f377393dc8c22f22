"""Encoder contract: named inputs -> one feature vector per sample.

An encoder is built with ``inputs`` (the data's ``{name: InputSpec}``) plus its YAML keys, declares the
input names it reads (:attr:`Encoder.input_names`) and maps a batch's inputs to features
``Tensor[B, out_dim]``. ``last_layer`` is the last module with parameters, the "last shared layer" that
GradNorm measures gradient norms at. :meth:`Encoder.example` gives the build arguments of a small
instance, used by the contract tests.

A :class:`SequenceEncoder` (``transformer``) reads token sequences and also gives per-token features:
``encode(inputs) -> (tokens [B, T, out_dim], pooled [B, out_dim])``, ``pooled`` a parameter-free
function of ``tokens``; its ``forward`` is ``pooled``, so sentence-level tasks work in every architecture.

A :class:`StagedEncoder` is a composition ``finish(stage_S(... stage_1(stem(inputs))))`` of feature maps
``[B, C_s, H_s, W_s]``, which the stage-wise architectures (``mtan``, ``cross_stitch``) read and mix
between stages. Each :class:`Stage` is ``rest(first(x))``: MTAN's u_s is the output of its first block
and p_s its output; a stage that downsamples does so in ``first``, so u_s and p_s share one resolution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mtl_lab.batch import InputSpec
from mtl_lab.errors import ConfigError, unknown_choice
from mtl_lab.registry import Registry

ENCODERS: Registry[Encoder] = Registry("encoder")

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


def make_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise unknown_choice("encoder.activation", name, ACTIVATIONS, "activation")
    return ACTIVATIONS[name]()


def mlp_layers(
    in_dim: int, hidden_dims: Sequence[int], activation: str, dropout: float
) -> tuple[list[nn.Module], int]:
    """Linear + activation (+ dropout) per width in ``hidden_dims``; the layers and the output size."""
    layers: list[nn.Module] = []
    for width in hidden_dims:
        layers += [nn.Linear(in_dim, int(width)), make_activation(activation)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = int(width)
    return layers, in_dim


def choose_input(inputs: Mapping[str, InputSpec], name: str | None, encoder: str) -> tuple[str, InputSpec]:
    """The input an encoder that reads one tensor uses: ``name``, or the data's only input when None."""
    if name is None:
        if len(inputs) != 1:
            raise ConfigError(
                f"encoder.input: the data gives several inputs ({', '.join(inputs)}); "
                f"name the one '{encoder}' reads, e.g. encoder.input={next(iter(inputs))}"
            )
        name = next(iter(inputs))
    if name not in inputs:
        raise unknown_choice("encoder.input", name, inputs, "input of the data")
    return name, inputs[name]


class Encoder(nn.Module):
    """Base class; subclasses set :attr:`out_dim` and :attr:`input_names` and implement ``forward``."""

    out_dim: int
    #: The names of the batch inputs this encoder reads.
    input_names: tuple[str, ...]

    def forward(self, inputs: Mapping[str, Tensor]) -> Tensor:
        raise NotImplementedError

    @property
    def last_layer(self) -> nn.Module:
        raise NotImplementedError

    @classmethod
    def example(cls) -> dict[str, Any]:
        """Keyword arguments (``inputs`` included) of a small instance, for the contract tests."""
        raise NotImplementedError(f"{cls.__name__} declares no example input")


class SequenceEncoder(Encoder):
    """An encoder of token sequences: per-token features and one pooled vector per sequence."""

    def encode(self, inputs: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        """(tokens ``[B, T, out_dim]``, pooled ``[B, out_dim]``), pooled computed from tokens alone."""
        raise NotImplementedError

    def forward(self, inputs: Mapping[str, Tensor]) -> Tensor:
        return self.encode(inputs)[1]


class Stage(nn.Module):
    """One stage of a :class:`StagedEncoder`: ``forward(x) = rest(first(x))``, ``channels`` output maps.

    ``first`` is the stage's first block (with the stage's downsampling, if any): its output is MTAN's
    u_s; ``rest`` the remaining blocks (identity for one block), whose output is the stage's p_s.
    """

    def __init__(self, first: nn.Module, rest: nn.Module, channels: int) -> None:
        super().__init__()
        self.first = first
        self.rest = rest
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        return self.rest(self.first(x))


class StagedEncoder(Encoder):
    """An encoder computed stage by stage: ``x = stem(inputs); x = stage(x) for each stage; finish(x)``.

    Subclasses give ``stem`` (inputs -> the first stage's input), ``stages`` (in order), ``finish``
    (the last stage's output -> ``Tensor[B, out_dim]``) and the parameters only ``finish`` uses.
    """

    @property
    def stages(self) -> Sequence[Stage]:
        raise NotImplementedError

    @property
    def stage_channels(self) -> tuple[int, ...]:
        """C_s: the channels of each stage's output (and of its first block's output)."""
        return tuple(stage.channels for stage in self.stages)

    def stem(self, inputs: Mapping[str, Tensor]) -> Tensor:
        raise NotImplementedError

    def finish(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def finish_parameters(self) -> list[nn.Parameter]:
        """The parameters ``finish`` uses (and neither the stem nor any stage does)."""
        raise NotImplementedError

    def forward(self, inputs: Mapping[str, Tensor]) -> Tensor:
        x = self.stem(inputs)
        for stage in self.stages:
            x = stage(x)
        return self.finish(x)


def staged_encoder_names() -> list[str]:
    """The registered encoders that are :class:`StagedEncoder` subclasses."""
    builders = {name: ENCODERS.resolve(name) for name in ENCODERS.names()}
    return [n for n, b in builders.items() if isinstance(b, type) and issubclass(b, StagedEncoder)]
