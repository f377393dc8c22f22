from __future__ import annotations

import io
import math
from collections.abc import Callable

import pytest
import torch
from conftest import SMALL_CNN
from omegaconf import DictConfig

from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_experiment, run_experiment
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import GradientStats, RandomLossWeighting
from mtl_lab.weighting.rlw import _splitmix64, step_seed

TASKS = {t: TaskSpec(t, "classification", 2) for t in ("a", "b", "c")}
LOSSES = torch.tensor([1.0, 2.0, 3.0])


def draw(weighting: RandomLossWeighting, steps: int) -> list[torch.Tensor]:
    return [weighting(LOSSES, GradientStats()).coefficients for _ in range(steps)]


def test_coefficients_are_the_softmax_of_normal_draws_from_a_generator_seeded_with_seed_and_step() -> None:
    weighting = RandomLossWeighting(TASKS, seed=7)
    assert weighting.current_coefficients().tolist() == pytest.approx([1 / 3] * 3)
    draws = draw(weighting, 4)
    for n, coefficients in enumerate(draws):
        z = torch.randn(3, generator=torch.Generator().manual_seed(step_seed(7, n))).tolist()
        by_hand = [math.exp(v) / sum(math.exp(u) for u in z) for v in z]
        assert coefficients.tolist() == pytest.approx(by_hand, rel=1e-6)
        assert float(coefficients.sum()) == pytest.approx(1.0)
    assert int(weighting.steps) == 4 and len({tuple(c.tolist()) for c in draws}) == 4


def test_step_seed_is_splitmix64_of_the_pair() -> None:
    assert _splitmix64(0) == 0xE220A8397B1DCDAF  # the published first output of SplitMix64 from state 0
    assert step_seed(5, 3) == _splitmix64(_splitmix64(5) ^ 3)
    assert len({step_seed(s, n) for s in range(-2, 3) for n in range(100)}) == 500
    assert all(0 <= step_seed(s, 1) < 2**64 for s in (-1, 0, 2**70))


def test_draws_are_reproducible_from_seed_and_step_and_never_touch_the_global_rng() -> None:
    torch.manual_seed(1)
    uninterrupted = draw(RandomLossWeighting(TASKS, seed=3), 5)
    torch.manual_seed(2)
    global_state = torch.get_rng_state()
    interrupted = RandomLossWeighting(TASKS, seed=3)
    first = draw(interrupted, 2)
    buffer = io.BytesIO()
    torch.save(interrupted.state_dict(), buffer)
    buffer.seek(0)
    resumed = RandomLossWeighting(TASKS, seed=3)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(resumed.current_coefficients(), first[-1])
    assert all(torch.equal(a, b) for a, b in zip(first + draw(resumed, 3), uninterrupted, strict=True))
    assert torch.equal(torch.get_rng_state(), global_state)
    assert not torch.equal(draw(RandomLossWeighting(TASKS, seed=4), 1)[0], uninterrupted[0])


def test_training_run_draws_new_weights_each_step_from_the_run_seed(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config("weighting=rlw", *SMALL_CNN, "seed=5", "trainer.max_epochs=1")
    assert cfg.weighting.seed == 5
    summary = run_experiment(cfg)
    assert summary.status == "completed"
    assert all(math.isfinite(v) for v in summary.metrics.values())
    # 256 samples / 64 per batch = 4 steps: the final weights are the 4th draw (step 3)
    expected = torch.softmax(torch.randn(3, generator=torch.Generator().manual_seed(step_seed(5, 3))), 0)
    assert list(summary.weights.values()) == pytest.approx(expected.tolist(), rel=1e-6)


def test_unseeded_run_needs_an_explicit_seed(make_config: Callable[..., DictConfig]) -> None:
    with pytest.raises(ConfigError, match=r"^weighting.rlw.seed: expected int, got None"):
        build_experiment(make_config("weighting=rlw", "seed=null"))


def test_present_tasks_get_the_softmax_of_their_draws_and_a_missing_task_keeps_its_weight() -> None:
    weighting = RandomLossWeighting(TASKS, seed=7)
    first = weighting(LOSSES, GradientStats(counts=torch.tensor([4.0, 4.0, 4.0]))).coefficients
    second = weighting(LOSSES, GradientStats(counts=torch.tensor([4.0, 0.0, 4.0]))).coefficients
    z = torch.randn(3, generator=torch.Generator().manual_seed(step_seed(7, 1)))
    assert float(second[1]) == float(first[1])
    assert second[[0, 2]].tolist() == pytest.approx(torch.softmax(z[[0, 2]], 0).tolist(), rel=1e-6)
    assert int(weighting.steps) == 2  # the sequence does not depend on which labels are missing
    weighting(LOSSES, GradientStats(counts=torch.zeros(3)))
    assert int(weighting.steps) == 2 and torch.equal(weighting.weights, second)
