"""The reviews files: ``train.jsonl``, ``val.jsonl`` and ``test.jsonl`` in one directory, written once.

Each line is a JSON object with ``text``, ``tokens`` and the label fields of the shape (``sentiment``,
``tags``; :mod:`.generator`). The directory records the generator's parameters in ``reviews.json``
(:mod:`.written`): it is reused when they are the same and refused otherwise, never overwritten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mtl_lab.data.reviews.generator import GENERATOR, VERSION, check_parameters, review_rows
from mtl_lab.data.reviews.pools import SPLITS
from mtl_lab.text.written import ensure_written

RECORD = "reviews.json"


def split_path(directory: Path, split: str) -> Path:
    """The file of ``split`` in a reviews directory."""
    return Path(directory) / f"{split}.jsonl"


def reviews_parameters(shape: str, sizes: dict[str, int], noise: float, seed: int) -> dict[str, Any]:
    """What a reviews directory records: equal parameters mean the same files."""
    return {
        "generator": f"mtl_lab {GENERATOR}",
        "version": VERSION,
        "shape": shape,
        **{f"{split}_size": sizes[split] for split in SPLITS},
        "noise": noise,
        "seed": seed,
    }


def write_reviews(directory: Path, shape: str, sizes: dict[str, int], noise: float, seed: int) -> None:
    """Write the three split files of ``shape`` into (an existing) ``directory``."""
    for split in SPLITS:
        rows = review_rows(shape, split, sizes[split], seed, noise)
        lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        split_path(directory, split).write_text("".join(lines), encoding="utf-8")


def ensure_reviews(
    directory: Path, shape: str, sizes: dict[str, int], noise: float, seed: int, key: str = "data.directory"
) -> Path:
    """The reviews directory of these parameters at ``directory``: written, or reused if already there."""
    check_parameters(shape, sizes, noise)
    parameters = reviews_parameters(shape, sizes, noise, seed)
    return ensure_written(
        Path(directory),
        RECORD,
        parameters,
        lambda path: write_reviews(path, shape, sizes, noise, seed),
        key,
        "reviews",
    )
