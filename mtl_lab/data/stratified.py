"""Stratified train/val/test split of in-memory rows: every class in the same proportions in every split."""

from __future__ import annotations

import numpy as np

FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def stratified_split(
    rows: np.ndarray, labels: np.ndarray, rng: np.random.RandomState, fractions: dict[str, float] = FRACTIONS
) -> dict[str, np.ndarray]:
    """``rows`` (indices into ``labels``) split train/val/test within every class (rounded counts, the
    rest to test), each split's rows sorted; deterministic from ``rng``."""
    splits: dict[str, list[np.ndarray]] = {split: [] for split in fractions}
    for cls in np.unique(labels[rows]):
        idx = rng.permutation(rows[labels[rows] == cls])
        n_train = round(fractions["train"] * len(idx))
        n_val = round(fractions["val"] * len(idx))
        splits["train"].append(idx[:n_train])
        splits["val"].append(idx[n_train : n_train + n_val])
        splits["test"].append(idx[n_train + n_val :])
    return {split: np.sort(np.concatenate(parts)) for split, parts in splits.items()}
