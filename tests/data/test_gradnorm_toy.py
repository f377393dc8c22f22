from __future__ import annotations

import pytest
import torch

from mtl_lab.data import GradNormToyDataModule
from mtl_lab.errors import ConfigError


def test_targets_follow_the_papers_formula() -> None:
    dm = GradNormToyDataModule(sigmas=[1.0, 100.0, 10.0], train_size=32, val_size=8, test_size=8, seed=4)
    assert list(dm.tasks) == ["task_0", "task_1", "task_2"]
    assert all(s.kind == "regression" and s.num_outputs == 100 and s.loss == "mse" for s in dm.tasks.values())
    split = dm.split("train")
    # regenerate B and eps_t exactly as documented: B ~ N(0, 10^2), eps_t ~ N(0, 3.5^2), then x = 0.01 z with z ~ N(0, I)
    g = torch.Generator().manual_seed(4)
    b = torch.randn(100, 250, generator=g) * 10.0
    eps = [torch.randn(100, 250, generator=g) * 3.5 for _ in range(3)]
    z = torch.randn(32, 250, generator=g)
    x = z * 0.01
    assert torch.equal(split.inputs["features"], z)  # the network sees the standardised input x / input_std
    for t, sigma in enumerate([1.0, 100.0, 10.0]):
        assert torch.allclose(split.targets[f"task_{t}"], sigma * torch.tanh(x @ (b + eps[t]).T))


def test_scales_of_the_tasks_differ_by_sigma() -> None:
    split = GradNormToyDataModule(sigmas=[1.0, 100.0], train_size=500, val_size=8, test_size=8).split("train")
    ratio = split.targets["task_1"].std() / split.targets["task_0"].std()
    assert 95 < float(ratio) < 105


def test_splits_differ_and_seed_is_deterministic() -> None:
    dm = GradNormToyDataModule(train_size=16, val_size=16, test_size=16)
    assert not torch.equal(dm.split("train").inputs["features"], dm.split("val").inputs["features"])
    again = GradNormToyDataModule(train_size=16, val_size=16, test_size=16)
    assert torch.equal(dm.split("test").targets["task_1"], again.split("test").targets["task_1"])


def test_needs_at_least_one_sigma() -> None:
    with pytest.raises(ConfigError, match="data.sigmas"):
        GradNormToyDataModule(sigmas=[])
