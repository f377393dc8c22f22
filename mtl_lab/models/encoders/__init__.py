"""Encoders: one file per family, registered by name in :data:`ENCODERS`."""

from mtl_lab.models.encoders.base import ENCODERS, Encoder, SequenceEncoder, make_activation
from mtl_lab.models.encoders.cnn import CNNEncoder
from mtl_lab.models.encoders.mlp import MLPEncoder
from mtl_lab.models.encoders.resnet import ResNetEncoder as ResNetEncoder
from mtl_lab.models.encoders.tabular import TabularEncoder
from mtl_lab.models.encoders.transformer import TransformerEncoder

__all__ = [
    "ENCODERS",
    "CNNEncoder",
    "Encoder",
    "MLPEncoder",
    "SequenceEncoder",
    "TabularEncoder",
    "TransformerEncoder",
    "make_activation",
]
