"""Encoder contract: named inputs -> one feature vector per sample.

An encoder is built with ``inputs`` (the data's ``{name: InputSpec}``) plus its YAML keys, declares the
input names it reads (:attr:`Encoder.input_names`) and maps a batch's inputs to features
``Tensor[B, out_dim]``. ``last_layer`` is the last module with parameters, the "last shared layer" that
GradNorm measures gradient norms at. :meth:`Encoder.example` gives the build arguments of a small
instance, used by the contract tests.
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
