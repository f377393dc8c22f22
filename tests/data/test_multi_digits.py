from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from mtl_lab.data import MultiDigitsDataModule
from mtl_lab.errors import ConfigError


def test_tasks_and_shapes() -> None:
    dm = MultiDigitsDataModule(train_size=100, val_size=50, test_size=50, offset=3)
    assert {t: (s.kind, s.num_outputs) for t, s in dm.tasks.items()} == {
        "left": ("classification", 10),
        "right": ("classification", 10),
        "sum": ("regression", 1),
    }
    train = dm.split("train")
    image = train.inputs["image"]
    assert image.shape == (100, 1, 11, 11) and dm.input_specs["image"].shape == (1, 11, 11)
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    assert torch.equal(
        train.targets["sum"].squeeze(1), (train.targets["left"] + train.targets["right"]).float()
    )


def test_images_overlay_the_left_and_right_source_digits() -> None:
    dm = MultiDigitsDataModule(train_size=20, val_size=5, test_size=5, offset=3, seed=3)
    split = dm.split("train")
    digits = load_digits()
    images = digits.images / 16.0
    for i in range(5):
        image = split.inputs["image"][i, 0].numpy()
        # the top-left 3x3 corner only holds the left digit; it must be one of that class's images
        corner = image[:3, :3]
        left_class = digits.target == int(split.targets["left"][i])
        assert np.isclose(images[left_class][:, :3, :3], corner, atol=1e-6).all(axis=(1, 2)).any()
        corner = image[-3:, -3:]
        right_class = digits.target == int(split.targets["right"][i])
        assert np.isclose(images[right_class][:, -3:, -3:], corner, atol=1e-6).all(axis=(1, 2)).any()


def test_deterministic_from_seed() -> None:
    a = MultiDigitsDataModule(train_size=50, val_size=10, test_size=10, seed=5).split("train")
    b = MultiDigitsDataModule(train_size=50, val_size=10, test_size=10, seed=5).split("train")
    c = MultiDigitsDataModule(train_size=50, val_size=10, test_size=10, seed=6).split("train")
    assert torch.equal(a.inputs["image"], b.inputs["image"]) and torch.equal(
        a.targets["left"], b.targets["left"]
    )
    assert not torch.equal(a.inputs["image"], c.inputs["image"])


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"offset": 9}, "data.offset"), ({"train_size": 0}, "data.train_size")]
)
def test_invalid_settings(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MultiDigitsDataModule(**kwargs)
