"""Read back what a W&B run recorded, from its local transaction log ``run-<id>.wandb``.

The file is a LevelDB-style log (what wandb's ``wandb sync`` uploads): a 7-byte header (``:W&B``,
magic 0xBEE1, version 0), then 32 KiB blocks of chunks ``<crc32 u32><length u16><type u8><data>``,
type 1 = a whole record, 2/3/4 = its first/middle/last part; a block's last < 7 bytes are padding.
Each record is a ``wandb.proto.wandb_internal_pb2.Record``.
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
CHUNK_HEADER = struct.Struct("<IHB")
FILE_HEADER = struct.Struct("<4sHB")
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list[wandb_internal_pb2.Record]:
    data = path.read_bytes()
    ident, magic, version = FILE_HEADER.unpack_from(data)
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), f"{path}: not a W&B transaction log"
    out, pending, pos = [], b"", FILE_HEADER.size
    while pos + CHUNK_HEADER.size <= len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK_HEADER.size:
            pos += left
            continue
        _, length, kind = CHUNK_HEADER.unpack_from(data, pos)
        if kind == 0:  # zero padding to the end of the block
            pos += left
            continue
        start = pos + CHUNK_HEADER.size
        if start + length > len(data):  # still being written
            break
        pending += data[start : start + length]
        pos = start + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
            pending = b""
    return out


def _items(items: Any) -> dict[str, Any]:
    """``{key or nested_key joined by '/': decoded JSON value}`` of config/history/summary items."""
    return {(item.key or "/".join(item.nested_key)): json.loads(item.value_json) for item in items}


@dataclass
class OfflineRun:
    """What one offline run recorded: its run record, config, history rows, final summary, artifacts."""

    directory: Path
    run: wandb_internal_pb2.RunRecord
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: list[wandb_internal_pb2.MetricRecord] = field(default_factory=list)
    artifacts: list[wandb_internal_pb2.ArtifactRecord] = field(default_factory=list)
    exit_code: int | None = None


def read_run(directory: Path, wait_s: float = 30.0) -> OfflineRun:
    """Parse ``<directory>/run-*.wandb`` (``directory`` is an ``offline-run-*`` folder).

    wandb's service process writes the log through a buffer that it flushes when the run is closed,
    a moment after ``run.finish()`` returns: wait up to ``wait_s`` for the run's ``exit`` record.
    """
    deadline = time.monotonic() + wait_s
    while True:
        run = _parse_run(directory)
        if (run is not None and run.exit_code is not None) or time.monotonic() > deadline:
            assert run is not None, f"{directory}: no run record"
            return run
        time.sleep(0.1)


def _parse_run(directory: Path) -> OfflineRun | None:
    (log,) = directory.glob("run-*.wandb")
    parsed: OfflineRun | None = None
    for record in records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            parsed = OfflineRun(directory, record.run)
            parsed.config.update(_items(record.run.config.update))
            continue
        if parsed is None:  # the header record comes first
            continue
        if kind == "config":
            parsed.config.update(_items(record.config.update))
        elif kind == "history":
            parsed.history.append(_items(record.history.item))
        elif kind == "summary":
            parsed.summary.update(_items(record.summary.update))
        elif kind == "metric":
            parsed.metrics.append(record.metric)
        elif kind == "artifact":
            parsed.artifacts.append(record.artifact)
        elif kind == "exit":
            parsed.exit_code = record.exit.exit_code
    return parsed


def offline_runs(run_dir: Path) -> list[OfflineRun]:
    """Every offline W&B run under ``<run_dir>/wandb/``, oldest first."""
    return [read_run(d) for d in sorted((run_dir / "wandb").glob("offline-run-*"))]
