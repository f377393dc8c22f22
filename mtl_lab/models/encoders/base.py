"""Encoder contract: a module mapping inputs to a flat feature vector of size ``out_dim``."""

from __future__ import annotations

from torch import nn

from mtl_lab.errors import unknown_choice
from mtl_lab.registry import Registry

ENCODERS: Registry[Encoder] = Registry("encoder")

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


def make_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise unknown_choice("encoder.activation", name, ACTIVATIONS, "activation")
    return ACTIVATIONS[name]()


class Encoder(nn.Module):
    """Built with ``input_shape`` (one sample, no batch dim) plus its YAML keys.

    ``out_dim`` is the size of the feature vector; ``last_layer`` is the last module with parameters,
    the "last shared layer" that GradNorm measures gradient norms at.
    """

    out_dim: int

    @property
    def last_layer(self) -> nn.Module:
        raise NotImplementedError
