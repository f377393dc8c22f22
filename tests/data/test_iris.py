from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris

from mtl_lab.data import IrisDataModule
from mtl_lab.errors import ConfigError


def test_tasks_inputs_and_standardised_features() -> None:
    dm = IrisDataModule(batch_size=8)
    assert {t: (s.kind, s.num_outputs, s.class_names) for t, s in dm.tasks.items()} == {
        "species": ("classification", 3, ("setosa", "versicolor", "virginica")),
        "petal_width": ("regression", 1, None),
    }
    assert dm.input_specs["features"].shape == (3,)
    iris = load_iris()
    splits = {s: dm.split(s) for s in ("train", "val", "test")}
    assert sum(len(s) for s in splits.values()) == 150
    features = torch.cat([s.inputs["features"] for s in splits.values()])
    # standardised with the statistics of all 150 rows: mean 0, population std 1 over the whole set
    assert torch.allclose(features.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(features.std(0, unbiased=False), torch.ones(3), atol=1e-5)
    rows = dm.rows()
    data = iris.data
    expected = (data[:, :3] - data[:, :3].mean(0)) / data[:, :3].std(0)
    train = splits["train"]
    assert np.allclose(train.inputs["features"].numpy(), expected[rows["train"]], atol=1e-5)
    assert train.targets["species"].tolist() == iris.target[rows["train"]].tolist()
    assert np.allclose(train.targets["petal_width"].squeeze(1).numpy(), data[rows["train"], 3])
    assert train.targets["petal_width"].shape == (len(train), 1)


def test_splits_are_60_20_20_stratified_and_disjoint() -> None:
    rows = IrisDataModule().rows()
    species = load_iris().target
    assert {s: len(r) for s, r in rows.items()} == {"train": 90, "val": 30, "test": 30}
    for split, expected in {"train": 30, "val": 10, "test": 10}.items():
        assert np.bincount(species[rows[split]]).tolist() == [expected] * 3
    assert len(set(np.concatenate(list(rows.values())).tolist())) == 150


def test_parts_are_disjoint_stratified_and_cover_every_row() -> None:
    species = load_iris().target
    parts = [IrisDataModule(parts=2, part=k, seed=3).rows() for k in range(2)]
    rows = [set(np.concatenate(list(p.values())).tolist()) for p in parts]
    assert not rows[0] & rows[1] and len(rows[0] | rows[1]) == 150
    for part in parts:
        assert np.bincount(species[np.concatenate(list(part.values()))]).tolist() == [25, 25, 25]
        assert {s: len(r) for s, r in part.items()} == {"train": 45, "val": 15, "test": 15}
    # the division depends on the seed
    other = IrisDataModule(parts=2, part=0, seed=4).rows()
    assert set(np.concatenate(list(other.values())).tolist()) != rows[0]
    assert IrisDataModule(parts=2, part=0, seed=3).rows()["train"].tolist() == parts[0]["train"].tolist()


def test_ten_parts_still_give_every_split_every_species() -> None:
    species = load_iris().target
    rows = IrisDataModule(parts=10, part=9).rows()
    assert {s: np.bincount(species[r], minlength=3).tolist() for s, r in rows.items()} == {
        "train": [3, 3, 3],
        "val": [1, 1, 1],
        "test": [1, 1, 1],
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parts": 0}, r"^data.parts: must be in 1..10, got 0$"),
        ({"parts": 11}, r"^data.parts: must be in 1..10, got 11$"),
        ({"parts": 2, "part": 2}, r"^data.part: must be in 0..1 \(data.parts=2\), got 2$"),
        ({"part": -1}, r"^data.part: must be in 0..0 \(data.parts=1\), got -1$"),
    ],
)
def test_invalid_parts(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        IrisDataModule(**kwargs)
