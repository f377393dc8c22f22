from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from conftest import SMALL_CNN
from omegaconf import DictConfig

from mtl_lab.errors import ConfigError
from mtl_lab.experiment import run_experiment
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import DBMTLWeighting, GradientStats

TASKS = {t: TaskSpec(t, "regression", 1) for t in ("a", "b")}


def step(weighting: DBMTLWeighting, losses: list[float], norms: list[float]) -> torch.Tensor:
    stats = GradientStats(global_losses=torch.tensor(losses), grad_norms=torch.tensor(norms))
    return weighting(torch.tensor(losses), stats).coefficients


def test_coefficients_from_given_losses_and_gradient_norms() -> None:
    weighting = DBMTLWeighting(TASKS, beta=0.9)
    # step 1: ||grad log L|| = [4/2, 3/0.5] = [2, 6]; EMA = 0.1 [2, 6]; alpha = [3, 1]; c = alpha / L
    assert step(weighting, [2.0, 0.5], [4.0, 3.0]).tolist() == pytest.approx([1.5, 2.0], rel=1e-6)
    assert weighting.norm_ema.tolist() == pytest.approx([0.2, 0.6])
    # step 2: norms [1, 1]; EMA = 0.9 [0.2, 0.6] + 0.1 [1, 1] = [0.28, 0.64]; alpha = [0.64 / 0.28, 1]
    assert step(weighting, [1.0, 1.0], [1.0, 1.0]).tolist() == pytest.approx([0.64 / 0.28, 1.0], rel=1e-6)


def test_beta_decays_with_the_step_count_as_beta_over_t_to_the_sigma() -> None:
    weighting = DBMTLWeighting(TASKS, beta=0.9, beta_sigma=1.0)
    step(weighting, [2.0, 0.5], [4.0, 3.0])
    step(weighting, [1.0, 1.0], [1.0, 1.0])  # beta_2 = 0.9 / 2
    assert weighting.norm_ema.tolist() == pytest.approx([0.45 * 0.2 + 0.55, 0.45 * 0.6 + 0.55])


def test_without_averaging_every_task_gradient_is_scaled_to_the_largest_log_gradient_norm() -> None:
    tasks = {t: TaskSpec(t, "regression", 1) for t in "abcd"}
    weighting = DBMTLWeighting(tasks, beta=0.0)
    losses, norms = [0.1, 3.0, 20.0, 1.0], [5.0, 0.2, 40.0, 1.0]
    coefficients = step(weighting, losses, norms)
    # c_k ||grad L_k|| = ||alpha_k grad log L_k|| = max_i ||grad log L_i|| = 5 / 0.1
    assert (coefficients * torch.tensor(norms)).tolist() == pytest.approx([50.0] * 4, rel=1e-5)


def test_non_finite_norms_leave_the_average_unchanged() -> None:
    weighting = DBMTLWeighting(TASKS)
    step(weighting, [2.0, 0.5], [4.0, 3.0])
    coefficients = step(weighting, [2.0, 0.5], [float("inf"), 3.0])
    assert weighting.norm_ema.tolist() == pytest.approx([0.2, 0.6]) and weighting.steps.tolist() == [1, 1]
    assert coefficients.tolist() == pytest.approx([1.5, 2.0], rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": 1.0}, r"weighting.beta: must be in \[0, 1\), got 1.0"),
        ({"beta_sigma": -0.5}, "weighting.beta_sigma: must be >= 0, got -0.5"),
        ({"grad_level": "layer"}, "weighting.grad_level: unknown gradient level 'layer'"),
    ],
)
def test_bad_settings_fail_with_one_line(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DBMTLWeighting(TASKS, **kwargs)


@pytest.mark.parametrize("grad_level", ["params", "representation"])
def test_training_run_balances_the_tasks(grad_level: str, make_config: Callable[..., DictConfig]) -> None:
    cfg = make_config(
        "weighting=dbmtl", f"weighting.grad_level={grad_level}", *SMALL_CNN, "trainer.max_epochs=1"
    )
    summary = run_experiment(cfg)
    assert summary.status == "completed"
    assert all(math.isfinite(v) for v in summary.metrics.values())
    emas = [summary.metrics[f"train/grad_norm_ema/{t}"] for t in ("left", "right", "sum")]
    assert all(e > 0 for e in emas)
    # the final coefficients are those of the last step: c_t L_t = alpha_t = max EMA / EMA_t
    for task, ema in zip(("left", "right", "sum"), emas, strict=True):
        alpha = summary.weights[task] * summary.metrics[f"train/{task}/loss"]
        assert alpha == pytest.approx(max(emas) / ema, rel=1e-4)
