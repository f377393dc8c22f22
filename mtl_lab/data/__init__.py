"""Datamodules: one file per data source, registered by name in :data:`DATAMODULES`."""

from mtl_lab.data.datamodule import (
    DATAMODULES,
    BaseDataModule,
    MultiTaskDataModule,
    TensorMultiTaskDataset,
    TensorSplit,
)
from mtl_lab.data.gradnorm_toy import GradNormToyDataModule
from mtl_lab.data.iris import IrisDataModule
from mtl_lab.data.multi_digits import MultiDigitsDataModule
from mtl_lab.data.per_task import PerTaskDataModule
from mtl_lab.data.table import TableDataModule, TableDemoDataModule

__all__ = [
    "DATAMODULES",
    "BaseDataModule",
    "GradNormToyDataModule",
    "IrisDataModule",
    "MultiDigitsDataModule",
    "MultiTaskDataModule",
    "PerTaskDataModule",
    "TableDataModule",
    "TableDemoDataModule",
    "TensorMultiTaskDataset",
    "TensorSplit",
]
