"""``preprocessing.json``: the preprocessing a run fitted on its training split (category vocabularies,
numeric standardisation, class names), saved in the run directory so that ``mtl-eval`` (and later
prediction) map new data exactly as training did. Written once, atomically; an existing file that
differs is never replaced (a run in an existing run directory fails instead of overwriting it)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtl_lab.errors import ConfigError

PREPROCESSING_FILE = "preprocessing.json"


def save_preprocessing(state: Mapping[str, Any] | None, run_dir: str | Path) -> Path | None:
    """Write ``state`` to ``<run_dir>/preprocessing.json`` (nothing when None); returns the file."""
    if state is None:
        return None
    path = Path(run_dir) / PREPROCESSING_FILE
    text = json.dumps(state, indent=1, sort_keys=True) + "\n"
    if path.exists():
        if path.read_text() == text:
            return path
        raise ConfigError(
            f"{path}: exists with a different preprocessing (an earlier run's); not overwriting it, "
            "run in a new directory"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def load_preprocessing(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's saved preprocessing, or None when it has none."""
    path = Path(run_dir) / PREPROCESSING_FILE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(state, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return state
