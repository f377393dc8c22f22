"""Architectures: how tasks share an encoder. One file each, registered in :data:`ARCHITECTURES`."""

from mtl_lab.models.architectures.base import ARCHITECTURES, Architecture, ArchitectureOutput
from mtl_lab.models.architectures.cgc import CGCArchitecture as CGCArchitecture
from mtl_lab.models.architectures.cross_stitch import CrossStitchArchitecture as CrossStitchArchitecture
from mtl_lab.models.architectures.mmoe import MMoEArchitecture as MMoEArchitecture
from mtl_lab.models.architectures.mtan import MTANArchitecture as MTANArchitecture
from mtl_lab.models.architectures.ple import PLEArchitecture as PLEArchitecture
from mtl_lab.models.architectures.shared import SharedArchitecture
from mtl_lab.models.architectures.task_attention import TaskAttentionArchitecture as TaskAttentionArchitecture

__all__ = ["ARCHITECTURES", "Architecture", "ArchitectureOutput", "SharedArchitecture"]
