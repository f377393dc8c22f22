from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import SMALL_CNN
from omegaconf import DictConfig

from mtl_lab.errors import ConfigError
from mtl_lab.experiment import run_experiment
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import DWAWeighting, GradientStats

TASKS = {t: TaskSpec(t, "regression", 1) for t in ("a", "b", "c")}


def step(weighting: DWAWeighting, global_losses: list[float]) -> torch.Tensor:
    losses = torch.tensor(global_losses)
    return weighting(losses, GradientStats(global_losses=losses)).coefficients


def dwa_by_hand(ratios: list[float], temperature: float) -> list[float]:
    exps = [math.exp(r / temperature) for r in ratios]
    return [len(ratios) * e / sum(exps) for e in exps]


def test_weights_follow_the_ratio_of_the_last_two_epoch_average_losses() -> None:
    weighting = DWAWeighting(TASKS, temperature=2.0)
    # epoch 0: averages [3, 4, 2]; epoch 1: [1.5, 4, 2]; epoch 2: [0.75, 2, 2]
    assert torch.equal(step(weighting, [2.0, 4.0, 1.0]), torch.ones(3))
    step(weighting, [4.0, 4.0, 3.0])
    weighting.on_train_epoch_end()
    assert torch.equal(step(weighting, [1.0, 5.0, 2.0]), torch.ones(3)), "w = 1 for the first two epochs"
    step(weighting, [2.0, 3.0, 2.0])
    weighting.on_train_epoch_end()
    third = dwa_by_hand([0.5, 1.0, 1.0], 2.0)  # [0.8408, 1.0796, 1.0796]
    assert step(weighting, [0.75, 2.0, 2.0]).tolist() == pytest.approx(third, rel=1e-6)
    weighting.on_train_epoch_end()
    assert weighting.current_coefficients().tolist() == pytest.approx(dwa_by_hand([0.5, 0.5, 1.0], 2.0))
    assert third[0] == pytest.approx(0.8408, abs=1e-4) and sum(third) == pytest.approx(3.0)


def test_temperature_controls_how_far_weights_move_from_equal() -> None:
    spreads = []
    for temperature in (0.5, 2.0, 100.0):
        weighting = DWAWeighting(TASKS, temperature=temperature)
        for losses in ([1.0, 1.0, 1.0], [0.5, 1.0, 2.0]):
            step(weighting, losses)
            weighting.on_train_epoch_end()
        spreads.append(float(weighting.weights.max() - weighting.weights.min()))
    assert spreads[0] > spreads[1] > spreads[2] > 0 and spreads[2] < 0.05


def test_an_epoch_without_steps_changes_nothing_and_bad_temperature_is_rejected() -> None:
    weighting = DWAWeighting(TASKS)
    step(weighting, [1.0, 2.0, 3.0])
    weighting.on_train_epoch_end()
    before = {k: v.clone() for k, v in weighting.state_dict().items()}
    weighting.on_train_epoch_end()
    assert all(torch.equal(v, weighting.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ConfigError, match="weighting.temperature: must be > 0, got 0"):
        DWAWeighting(TASKS, temperature=0)


def test_a_run_resumed_mid_epoch_from_a_checkpoint_decides_the_same_weights() -> None:
    epochs = [[[2.0, 4.0, 1.0], [4.0, 2.0, 3.0]], [[1.0, 3.0, 2.0], [2.0, 1.0, 2.0]]]
    uninterrupted, interrupted = DWAWeighting(TASKS), DWAWeighting(TASKS)
    for epoch in epochs:
        for losses in epoch:
            step(uninterrupted, losses)
        uninterrupted.on_train_epoch_end()
    for losses in epochs[0]:
        step(interrupted, losses)
    interrupted.on_train_epoch_end()
    step(interrupted, epochs[1][0])  # interrupted after the first step of epoch 1
    buffer = io.BytesIO()
    torch.save(interrupted.state_dict(), buffer)
    buffer.seek(0)
    resumed = DWAWeighting(TASKS)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    step(resumed, epochs[1][1])
    resumed.on_train_epoch_end()
    assert torch.equal(resumed.weights, uninterrupted.weights)
    assert not torch.equal(resumed.weights, torch.ones(3))


def test_training_run_moves_the_weights_from_the_third_epoch(make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config("weighting=dwa", *SMALL_CNN, "trainer.max_epochs=3")
    summary = run_experiment(cfg)
    assert summary.status == "completed"
    assert all(math.isfinite(v) for v in summary.metrics.values())
    # the module calls the epoch-end hook: the final weights are those of the last two epoch averages
    state = torch.load(Path(cfg.paths.output_dir, "checkpoints", "last.ckpt"), weights_only=True)[
        "state_dict"
    ]
    epoch_losses = state["weighting.epoch_losses"]
    assert state["weighting.completed_epochs"].tolist() == [3, 3, 3]
    expected = dwa_by_hand((epoch_losses[0] / epoch_losses[1]).tolist(), 2.0)
    assert list(summary.weights.values()) == pytest.approx(expected, rel=1e-5)
    assert list(summary.weights.values()) != [1.0, 1.0, 1.0]


def missing_step(weighting: DWAWeighting, global_losses: list[float], present: list[bool]) -> torch.Tensor:
    losses = torch.tensor(global_losses)
    counts = torch.tensor([16.0 if p else 0.0 for p in present])
    return weighting(losses, GradientStats(counts=counts, global_losses=losses)).coefficients


def test_epoch_averages_are_over_the_steps_where_each_task_is_present() -> None:
    weighting = DWAWeighting(TASKS)
    missing_step(weighting, [2.0, 0.0, 1.0], [True, False, True])
    missing_step(weighting, [4.0, 6.0, 3.0], [True, True, True])
    assert weighting.epoch_steps.tolist() == [2, 1, 2]
    weighting.on_train_epoch_end()
    assert weighting.epoch_losses[0].tolist() == [3.0, 6.0, 2.0]  # b: 6 / 1, not (0 + 6) / 2


def test_a_task_absent_for_a_whole_epoch_keeps_its_averages_and_weight_and_the_sum_stays_k() -> None:
    weighting = DWAWeighting(TASKS)
    for losses in ([3.0, 4.0, 2.0], [1.5, 4.0, 2.0]):
        step(weighting, losses)
        weighting.on_train_epoch_end()
    weights, averages = weighting.weights.clone(), weighting.epoch_losses.clone()
    assert not torch.equal(weights, torch.ones(3))
    missing_step(weighting, [0.75, 0.0, 2.0], [True, False, True])  # b has no label in epoch 2
    weighting.on_train_epoch_end()
    assert torch.equal(weighting.epoch_losses[:, 1], averages[:, 1])
    assert weighting.completed_epochs.tolist() == [3, 2, 3]
    assert float(weighting.weights[1]) == float(weights[1])
    share = 3.0 - float(weights[1])
    expected = [share * w / 2 for w in dwa_by_hand([0.5, 1.0], 2.0)]  # a: 0.75 / 1.5, c: 2 / 2
    assert weighting.weights[[0, 2]].tolist() == pytest.approx(expected, rel=1e-6)
    assert float(weighting.weights.sum()) == pytest.approx(3.0)
