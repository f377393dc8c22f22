"""Writing mtl-predict's rows a batch at a time, never holding them all: ``.parquet``
(:class:`pyarrow.parquet.ParquetWriter`, a row group per batch), ``.csv`` (:class:`pyarrow.csv.CSVWriter`;
a list value is written as its JSON text) and ``.jsonl`` (one JSON object per row); the format comes from
the output's extension. The first batch fixes the columns' types; later ones are cast to them.

Under DDP each rank writes its batches to a shard (an Arrow IPC stream keeps every batch as written),
and rank 0 interleaves the shards back into input order (:func:`merge_shards`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from mtl_lab.errors import DataError, unknown_choice

#: Output extension -> format.
OUTPUT_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl"}


def output_format(path: Path, key: str = "output") -> str:
    """The output format of ``path`` by its extension; an unknown one is an error naming the choices."""
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise unknown_choice(f"{key} ({path})", suffix or "(none)", OUTPUT_FORMATS, "file extension")
    return OUTPUT_FORMATS[suffix]


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    arrays = []
    for field, column in zip(schema, batch.columns, strict=True):
        try:
            arrays.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise DataError(
                f"output: column {field.name!r} holds {column.type} values in a later batch, "
                f"{field.type} in the first"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class BatchWriter(ABC):
    """Appends record batches to ``path`` (created at the first batch); ``rows`` written so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.schema: pa.Schema | None = None
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        batch = self._prepare(batch)
        if self.schema is None:
            self.schema = batch.schema
            self._open(batch.schema)
        self._write(_conform(batch, self.schema))
        self.rows += batch.num_rows

    def _prepare(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return batch

    @abstractmethod
    def _open(self, schema: pa.Schema) -> None: ...

    @abstractmethod
    def _write(self, batch: pa.RecordBatch) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Finish the file (nothing when no batch was written)."""


class ParquetBatches(BatchWriter):
    writer: pq.ParquetWriter | None = None

    def _open(self, schema: pa.Schema) -> None:
        self.writer = pq.ParquetWriter(self.path, schema)

    def _write(self, batch: pa.RecordBatch) -> None:
        assert self.writer is not None
        self.writer.write_batch(batch)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _json_text(column: pa.Array) -> pa.Array:
    return pa.array([None if v is None else json.dumps(v) for v in column.to_pylist()], pa.string())


class CsvBatches(BatchWriter):
    writer: pa_csv.CSVWriter | None = None

    def _prepare(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        nested = [pa.types.is_list(t) or pa.types.is_fixed_size_list(t) for t in batch.schema.types]
        if not any(nested):
            return batch
        arrays = [_json_text(c) if n else c for c, n in zip(batch.columns, nested, strict=True)]
        return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)

    def _open(self, schema: pa.Schema) -> None:
        self.writer = pa_csv.CSVWriter(str(self.path), schema)

    def _write(self, batch: pa.RecordBatch) -> None:
        assert self.writer is not None
        self.writer.write_batch(batch)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class JsonlBatches(BatchWriter):
    file: TextIO | None = None

    def _open(self, schema: pa.Schema) -> None:
        self.file = open(self.path, "w")  # noqa: SIM115 (closed by close())

    def _write(self, batch: pa.RecordBatch) -> None:
        assert self.file is not None
        rows: list[dict[str, Any]] = batch.to_pylist()
        self.file.write("".join(json.dumps(row) + "\n" for row in rows))

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class ShardBatches(BatchWriter):
    """A rank's batches as an Arrow IPC stream, one record batch per batch written."""

    writer: pa.ipc.RecordBatchStreamWriter | None = None

    def _open(self, schema: pa.Schema) -> None:
        self.writer = pa.ipc.new_stream(str(self.path), schema)

    def _write(self, batch: pa.RecordBatch) -> None:
        assert self.writer is not None
        self.writer.write_batch(batch)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


WRITERS: dict[str, type[BatchWriter]] = {"parquet": ParquetBatches, "csv": CsvBatches, "jsonl": JsonlBatches}


def open_writer(path: Path, fmt: str) -> BatchWriter:
    """A writer of ``fmt`` (a value of :data:`OUTPUT_FORMATS`) to ``path``."""
    return WRITERS[fmt](path)


def merge_shards(shards: Sequence[Path], writer: BatchWriter) -> None:
    """Batch n is the (n // W)-th batch of shard n % W (W shards; a missing shard holds none): write
    them in the order n = 0, 1, 2, ... until the shard of the next one has no more."""
    readers = [pa.ipc.open_stream(pa.OSFile(str(p))) if p.is_file() else None for p in shards]
    try:
        number = 0
        while True:
            reader = readers[number % len(readers)]
            if reader is None:
                return
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            writer.write(batch)
            number += 1
    finally:
        for reader in readers:
            if reader is not None:
                reader.close()
