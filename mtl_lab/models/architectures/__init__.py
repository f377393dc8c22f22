"""Architectures: how tasks share an encoder. One file each, registered in :data:`ARCHITECTURES`."""

from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.architectures.shared import SharedArchitecture

__all__ = ["ARCHITECTURES", "Architecture", "ArchitectureOutput", "SharedArchitecture"]
