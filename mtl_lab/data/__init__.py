"""Datamodules: one file per data source, registered by name in :data:`DATAMODULES`."""

from mtl_lab.data.datamodule import (
    DATAMODULES,
    BaseDataModule,
    MultiTaskDataModule,
    TensorMultiTaskDataset,
    TensorSplit,
)
from mtl_lab.data.gradnorm_toy import GradNormToyDataModule
from mtl_lab.data.multi_digits import MultiDigitsDataModule

__all__ = [
    "DATAMODULES",
    "BaseDataModule",
    "GradNormToyDataModule",
    "MultiDigitsDataModule",
    "MultiTaskDataModule",
    "TensorMultiTaskDataset",
    "TensorSplit",
]
