"""``data=reviews``: synthetic English review sentences labelled for sentiment and named entities."""

from mtl_lab.data.reviews.datamodule import ReviewsDataModule

__all__ = ["ReviewsDataModule"]
