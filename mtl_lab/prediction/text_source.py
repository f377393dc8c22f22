"""The rows of a text file as a prediction source: read and tokenized once per process
(:mod:`~mtl_lab.prediction.text_rows`; under DDP every rank does, then keeps its own batches), served in
``batch_size`` slices in input order, each padded to its own longest row as ``data=text`` pads an
evaluation batch (:class:`~mtl_lab.data.text.dataset.TextDataset`), with each row's word starts (token
tasks' tags are read there) and carried columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from mtl_lab.data.text import TextDataModule
from mtl_lab.data.text.dataset import TextDataset
from mtl_lab.prediction.sources import PredictionSource, SourceBatch
from mtl_lab.prediction.text_rows import TextRows, read_text_rows


class TextSource(PredictionSource):
    """Batches of ``rows`` (see the module docstring); ``pad_id``: the tokenizer's padding id."""

    def __init__(self, rows: TextRows, pad_id: int, batch_size: int) -> None:
        self.rows = rows
        self.pad_id = pad_id
        self.batch_size = batch_size
        self.description = rows.description
        self.labelled_tasks = rows.labelled_tasks
        self.path = rows.path

    def batches(self, keep: Callable[[int], bool]) -> Iterator[SourceBatch]:
        split, size, carry = self.rows.split, self.batch_size, self.rows.carry
        dataset = TextDataset(split, self.pad_id)
        for number, start in enumerate(range(0, len(split), size)):
            if keep(number):
                stop = min(start + size, len(split))
                yield SourceBatch(
                    dataset.__getitems__(list(range(start, stop))),
                    None if carry is None else carry.slice(start, stop - start),
                    None if split.words is None else split.words.rows(start, stop),
                )


def text_source(
    data: TextDataModule, split: str, files: Mapping[str, str | None], carry: Sequence[str]
) -> TextSource:
    """The source of a text run's rows, in batches of the run's ``data.eval_batch_size``."""
    return TextSource(read_text_rows(data, split, files, carry), data.pad_id, data.eval_batch_size)
