"""The files mtl-predict writes, and when: rows go to ``<output>.partial`` (one process) or to
``<output>.rank<r>.partial`` shards (DDP: one per rank, merged in input order by rank 0), which becomes
``<output>`` only once every row is written; the metrics go to ``<output>.metrics.json``.

An existing output or metrics file is refused unless ``overwrite=true`` (then a metrics file left by an
earlier prediction is removed when this one has no labels to score), and nothing is ever written inside
the run's ``checkpoints/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import torch.distributed as dist

from mtl_lab.errors import ConfigError, DataError
from mtl_lab.prediction.output import BatchWriter, ShardBatches, merge_shards, open_writer, output_format
from mtl_lab.prediction.sources import rank_and_world_size

METRICS_SUFFIX = ".metrics.json"


def metrics_path(output: Path) -> Path:
    """Where the metrics of ``output``'s rows go: ``<output>.metrics.json``."""
    return output.with_name(output.name + METRICS_SUFFIX)


class PredictionFiles:
    """The output of one prediction (see the module docstring)."""

    def __init__(self, output: str | Path, run_dir: str | Path, overwrite: bool) -> None:
        self.output = Path(output)
        self.fmt = output_format(self.output)
        checkpoints = (Path(run_dir) / "checkpoints").resolve()
        if self.output.resolve().is_relative_to(checkpoints):
            raise ConfigError(f"output: {self.output} is inside the run's {checkpoints}; write it elsewhere")
        self.metrics = metrics_path(self.output)
        for path in (self.output, self.metrics):
            if path.exists() and not overwrite:
                raise ConfigError(f"output: {path} exists; pass overwrite=true to replace it")
        self.partial = self.output.with_name(self.output.name + ".partial")
        self._writer: BatchWriter | None = None
        #: Rows this process has written, once its file is closed.
        self.rows = 0

    def shard(self, rank: int) -> Path:
        return self.output.with_name(f"{self.output.name}.rank{rank}.partial")

    def write(self, batch: pa.RecordBatch) -> None:
        """Append rows: to the output's partial file, or to this rank's shard under DDP."""
        if self._writer is None:
            rank, world_size = rank_and_world_size()
            self.output.parent.mkdir(parents=True, exist_ok=True)
            path = self.partial if world_size == 1 else self.shard(rank)
            self._writer = open_writer(path, self.fmt) if world_size == 1 else ShardBatches(path)
        self._writer.write(batch)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self.rows, self._writer = self._writer.rows, None

    def finish(self, description: str) -> int | None:
        """After every process has closed its file: rank 0 merges the shards (DDP), checks that rows were
        predicted and moves the output into place, returning the row count; other ranks return None."""
        rank, world_size = rank_and_world_size()
        if world_size > 1:
            dist.barrier()
            if rank != 0:
                return None
            merged = open_writer(self.partial, self.fmt)
            try:
                merge_shards([self.shard(r) for r in range(world_size)], merged)
            finally:
                merged.close()
                for r in range(world_size):
                    self.shard(r).unlink(missing_ok=True)
            rows = merged.rows
        else:
            rows = self.rows
        if rows == 0:
            self.partial.unlink(missing_ok=True)
            raise DataError(f"nothing to predict: no row in {description}")
        self.partial.replace(self.output)
        return rows

    def write_metrics(self, record: Mapping[str, Any] | None) -> Path | None:
        """Write ``record`` as the metrics file (None: remove an earlier one); returns the file."""
        if record is None:
            self.metrics.unlink(missing_ok=True)
            return None
        tmp = self.metrics.with_name(self.metrics.name + ".partial")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(self.metrics)
        return self.metrics

    def discard(self) -> None:
        """Remove what this process wrote of a prediction that failed."""
        self.close()
        rank, _ = rank_and_world_size()
        for path in (self.partial, self.shard(rank)):
            path.unlink(missing_ok=True)
