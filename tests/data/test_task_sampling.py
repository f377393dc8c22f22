"""One source per step: the sampling distributions, the draws' determinism, restarts of short sources."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mtl_lab.batch import Batch
from mtl_lab.data.datamodule import TensorMultiTaskDataset, TensorSplit, identity_collate
from mtl_lab.data.task_sampling import SampledSources, draw_sources, sampling_probabilities
from mtl_lab.errors import ConfigError


def source(task: str, rows: int, batch_size: int) -> DataLoader[Batch]:
    split = TensorSplit(inputs={"x": torch.zeros(rows, 1)}, targets={task: torch.zeros(rows)})
    return DataLoader(TensorMultiTaskDataset(split), batch_size=batch_size, collate_fn=identity_collate)


@pytest.mark.parametrize(
    ("sampling", "expected"),
    [
        ("proportional", [0.2, 0.8]),
        ("uniform", [0.5, 0.5]),
        ("temperature", [1 / 3, 2 / 3]),  # sqrt(100) : sqrt(400) at T = 2
    ],
)
def test_probabilities_and_the_empirical_distribution_over_many_steps(
    sampling: str, expected: list[float]
) -> None:
    probabilities = sampling_probabilities([100, 400], sampling, temperature=2.0)
    assert np.allclose(probabilities, expected)
    steps = 20_000
    draws = draw_sources(probabilities, steps, seed=0, epoch=0)
    shares = np.bincount(draws, minlength=2) / steps
    assert np.allclose(shares, expected, atol=0.015)  # ~4 standard deviations (0.0035) of a share


def test_temperature_interpolates_between_proportional_and_uniform() -> None:
    assert np.allclose(sampling_probabilities([100, 400], "temperature", 1.0), [0.2, 0.8])
    assert np.allclose(sampling_probabilities([100, 400], "temperature", 1e6), [0.5, 0.5], atol=1e-5)


def test_draws_are_a_function_of_seed_and_epoch() -> None:
    p = [0.5, 0.5]
    assert draw_sources(p, 50, seed=1, epoch=2) == draw_sources(p, 50, seed=1, epoch=2)
    assert draw_sources(p, 50, seed=1, epoch=2) != draw_sources(p, 50, seed=1, epoch=3)
    assert draw_sources(p, 50, seed=1, epoch=2) != draw_sources(p, 50, seed=2, epoch=2)
    assert len(draw_sources(p, 7, seed=-5, epoch=0)) == 7  # any integer seed


def test_an_epoch_follows_the_draws_and_exhausted_sources_restart() -> None:
    epoch = [0]
    # a: 1 batch of 4; b: 12 batches of 1; uniform draws -> a is drawn ~6 times, restarting each time
    sampled = SampledSources(
        {"a": source("a", 4, 4), "b": source("b", 12, 1)}, [0.5, 0.5], seed=0, epoch=lambda: epoch[0]
    )
    assert len(sampled) == 13
    batches = list(sampled)
    draws = sampled.draws(0)
    assert len(batches) == 13 and [next(iter(b.targets)) for b in batches] == draws
    assert all(len(b.targets) == 1 and b.size == {"a": 4, "b": 1}[draws[i]] for i, b in enumerate(batches))
    assert Counter(draws)["a"] > 1, "a drawn more often than it has batches: it restarted"
    epoch[0] = 1
    assert [next(iter(b.targets)) for b in sampled] == sampled.draws(1) != draws


@pytest.mark.parametrize(
    ("sampling", "temperature", "message"),
    [
        (
            "uniforn",
            2.0,
            r"^data.sampling: unknown sampling 'uniforn'; choices: proportional, temperature, uniform; "
            r"did you mean 'uniform'\?$",
        ),
        ("temperature", 0.0, r"^data.temperature: must be > 0, got 0.0$"),
    ],
)
def test_invalid_sampling_settings(sampling: str, temperature: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sampling_probabilities([1, 2], sampling, temperature)
