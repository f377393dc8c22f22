"""Directories that mtl_lab writes once (the reviews files, the tiny BERT) and reuses afterwards.

A written directory holds a small JSON record of its parameters. :func:`ensure_written` writes it
(``write`` fills a fresh temporary directory next to it, which is then renamed into place, so an
interrupted write leaves nothing at ``directory``), or reuses it when the record there has the same
parameters. Any other existing, non-empty directory (other parameters, no record) is refused in one line
and never overwritten. When two processes (DDP ranks) write the same directory at once, one rename wins
and the other process reuses its directory.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mtl_lab.errors import other_output


def recorded(directory: Path, record: str) -> dict[str, Any] | None:
    """The parameters recorded in ``directory / record``; None when there is no readable record."""
    try:
        found = json.loads((directory / record).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _is_empty(directory: Path) -> bool:
    return directory.is_dir() and not any(directory.iterdir())


def _check_existing(directory: Path, record: str, wanted: dict[str, Any], key: str, what: str) -> bool:
    """True when ``directory`` holds ``wanted`` (reuse); False when absent or empty; else a ConfigError."""
    if not directory.exists() or _is_empty(directory):
        return False
    found = recorded(directory, record)
    if found == wanted:
        return True
    raise other_output(key, directory, found, wanted, f"{what} directory", what)


def ensure_written(
    directory: Path,
    record: str,
    parameters: Mapping[str, Any],
    write: Callable[[Path], None],
    key: str,
    what: str,
) -> Path:
    """``directory`` holding ``write``'s files and ``record`` = ``parameters``, written unless already there.

    ``key`` (the config key of ``directory``) and ``what`` (the kind of directory) name it in errors.
    """
    wanted = json.loads(json.dumps(dict(parameters)))  # as the record reads back (tuples -> lists)
    directory = Path(directory)
    if _check_existing(directory, record, wanted, key, what):
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        write(temporary)
        (temporary / record).write_text(json.dumps(wanted, indent=1) + "\n")
        try:
            temporary.rename(directory)  # atomic; replaces an empty directory, fails on a non-empty one
        except OSError:
            if not _check_existing(directory, record, wanted, key, what):  # another writer won the race
                raise
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return directory
