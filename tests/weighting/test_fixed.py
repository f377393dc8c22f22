from __future__ import annotations

import pytest
import torch

from mtl_lab.errors import ConfigError
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import FixedWeighting, GradientStats

TASKS = {t: TaskSpec(t, "classification", 2) for t in ("left", "right", "sum")}


def test_default_is_equal_weights_of_one() -> None:
    out = FixedWeighting(TASKS)(torch.ones(3), GradientStats())
    assert out.coefficients.tolist() == [1.0, 1.0, 1.0] and float(out.extra) == 0.0


def test_weights_from_yaml_and_unlisted_tasks_get_one() -> None:
    out = FixedWeighting(TASKS, weights={"sum": 0.1, "left": 2.0})(torch.ones(3), GradientStats())
    assert torch.allclose(out.coefficients, torch.tensor([2.0, 1.0, 0.1]))


def test_weights_for_tasks_that_do_not_exist_are_an_error() -> None:
    with pytest.raises(
        ConfigError,
        match=r"weighting.weights: unknown task .* 'summ'; choices: left, right, sum; did you mean 'sum'",
    ):
        FixedWeighting(TASKS, weights={"summ": 1.0})


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_weights_must_be_finite_and_non_negative(value: float) -> None:
    with pytest.raises(ConfigError, match="weighting.weights.left: must be a finite number >= 0"):
        FixedWeighting(TASKS, weights={"left": value})
