"""Tables that mtl_lab generates itself (``table_demo``, ``recsys_synthetic``), written once as Parquet.

A generated file records its generator's parameters (generator name, version, rows, seed) as JSON in its
schema metadata under ``mtl_lab.<generator>``. :func:`ensure_generated` writes the table at ``path``, or
reuses the file there when it records the same parameters; any other existing file (another generator,
other parameters, a user's own table) is refused in one line and never overwritten. Files are written
atomically (a temporary file renamed), so an interrupted write leaves no partial table at ``path``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mtl_lab.errors import ConfigError, other_output


def metadata_key(generator: str) -> bytes:
    """The schema metadata key under which ``generator``'s parameters are recorded."""
    return f"mtl_lab.{generator}".encode()


def generator_parameters(generator: str, version: int, rows: int, seed: int) -> dict[str, Any]:
    """What a generated file records: equal parameters mean the same table."""
    return {"generator": f"mtl_lab {generator}", "version": version, "rows": rows, "seed": seed}


def recorded_parameters(path: Path, generator: str) -> dict[str, Any] | None:
    """The parameters ``generator`` recorded in the Parquet file at ``path``; None for any other file."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (pa.ArrowException, OSError):
        return None
    recorded = metadata.get(metadata_key(generator))
    return json.loads(recorded) if recorded is not None else None


def write_generated(
    path: Path, generator: str, columns: Mapping[str, pa.Array], parameters: Mapping[str, Any]
) -> Path:
    """Write ``columns`` as Parquet at ``path`` (atomically) with ``parameters`` recorded; return ``path``."""
    table = pa.table(dict(columns))
    table = table.replace_schema_metadata({metadata_key(generator): json.dumps(dict(parameters)).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def ensure_generated(
    path: Path, generator: str, parameters: Mapping[str, Any], write: Callable[[Path], Path]
) -> Path:
    """``write(path)`` unless ``path`` already holds ``generator``'s table with these ``parameters``."""
    if path.suffix.lower() != ".parquet":
        raise ConfigError(f"data.path: the demo writes a Parquet file (.parquet), got {str(path)!r}")
    wanted = dict(parameters)
    if path.exists():
        found = recorded_parameters(path, generator)
        if found == wanted:
            return path
        raise other_output("data.path", path, found, wanted, f"{generator} file", "the demo")
    return write(path)
