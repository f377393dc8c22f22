"""The stratified train/val/test split that multi_digits (source digit pools) and iris use."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from mtl_lab.data.stratified import stratified_split


def test_splits_are_disjoint_cover_the_rows_and_keep_every_class_share() -> None:
    labels = load_digits().target
    pools = stratified_split(np.arange(len(labels)), labels, np.random.RandomState(0))
    train, val, test = (set(pools[s].tolist()) for s in ("train", "val", "test"))
    assert not train & val and not train & test and not val & test
    assert len(train | val | test) == len(labels)
    assert abs(len(train) / len(labels) - 0.6) < 0.01 and abs(len(val) / len(labels) - 0.2) < 0.01
    for cls in range(10):
        share = np.mean(labels[pools["train"]] == cls)
        assert abs(share - np.mean(labels == cls)) < 0.01


def test_a_subset_of_rows_is_split_within_itself() -> None:
    labels = np.array([0, 1] * 10)
    rows = np.arange(0, 20, 2)  # class 0 only
    splits = stratified_split(rows, labels, np.random.RandomState(1))
    assert sorted(np.concatenate(list(splits.values())).tolist()) == rows.tolist()
    assert [len(splits[s]) for s in ("train", "val", "test")] == [6, 2, 2]
