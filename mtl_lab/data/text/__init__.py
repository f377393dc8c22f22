"""``data=text``: a user's own text file(s) as a multi-task dataset (sentence and token tasks)."""

from mtl_lab.data.text.datamodule import TextDataModule

__all__ = ["TextDataModule"]
