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
from mtl_lab.data.mmoe_synthetic import MMoESyntheticDataModule
from mtl_lab.data.multi_digits import MultiDigitsDataModule
from mtl_lab.data.per_task import PerTaskDataModule
from mtl_lab.data.recsys_synthetic import RecsysSyntheticDataModule
from mtl_lab.data.reviews import ReviewsDataModule as ReviewsDataModule
from mtl_lab.data.table import TableDataModule, TableDemoDataModule
from mtl_lab.data.text import TextDataModule

__all__ = [
    "DATAMODULES",
    "BaseDataModule",
    "GradNormToyDataModule",
    "IrisDataModule",
    "MMoESyntheticDataModule",
    "MultiDigitsDataModule",
    "MultiTaskDataModule",
    "PerTaskDataModule",
    "RecsysSyntheticDataModule",
    "TableDataModule",
    "TableDemoDataModule",
    "TensorMultiTaskDataset",
    "TensorSplit",
    "TextDataModule",
]
