"""DivergenceMonitor: the first non-finite step, found at a check, without a sync per step."""

from __future__ import annotations

import pytest
import torch

from mtl_lab.divergence import DivergenceMonitor
from mtl_lab.errors import DivergenceError


def test_the_first_non_finite_step_and_its_losses_are_reported_at_the_check() -> None:
    monitor = DivergenceMonitor(["a", "b"])
    for step in range(10):
        objective = torch.tensor(float("nan") if step >= 7 else 1.0 + step)
        monitor.record(step, objective, torch.tensor([0.5, float(step)]))
    with pytest.raises(DivergenceError) as error:
        monitor.check()
    assert error.value.step == 7
    assert error.value.losses["a"] == 0.5 and error.value.losses["b"] == 7.0
    assert error.value.losses["objective"] != error.value.losses["objective"]  # NaN


def test_a_finite_stretch_is_forgotten_after_its_check() -> None:
    monitor = DivergenceMonitor(["a"])
    for step in range(3):
        monitor.record(step, torch.tensor(1.0), torch.tensor([1.0]))
    monitor.check()
    assert monitor.objectives == [] and monitor.steps == []
    monitor.check()  # nothing recorded: nothing to do


def test_under_ddp_the_first_bad_step_of_any_rank_is_reported() -> None:
    monitor = DivergenceMonitor(["a"])
    for step in range(4):
        monitor.record(step, torch.tensor(float("inf") if step == 3 else 1.0), torch.tensor([1.0]))
    with pytest.raises(DivergenceError) as error:
        monitor.check(reduce_min=lambda own: torch.minimum(own, torch.tensor(1)))  # another rank: step 1
    assert error.value.step == 1 and error.value.losses == {}  # this rank did not see step 1 diverge
