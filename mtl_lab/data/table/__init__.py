"""``data=table`` (a user's CSV/TSV/Parquet/JSONL) and ``data=table_demo`` (a synthetic customer table)."""

from mtl_lab.data.table.datamodule import TableDataModule
from mtl_lab.data.table.demo import TableDemoDataModule

__all__ = ["TableDataModule", "TableDemoDataModule"]
