"""Contract of every registered weighting (parametrized over the registry)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import FAST, SMALL_CNN, compose_config, run_cli

from mtl_lab.errors import ConfigError
from mtl_lab.experiment import check_tasks_per_step, run_experiment
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import WEIGHTINGS, GradientStats, TorchJDWeighting, Weighting

TASKS = {
    "a": TaskSpec("a", "classification", 3),
    "b": TaskSpec("b", "regression", 1),
    "c": TaskSpec("c", "multilabel", 2),
}


def stats_for(weighting: Weighting, losses: torch.Tensor) -> GradientStats:
    g = torch.Generator().manual_seed(0)
    grads = torch.randn(3, 10, generator=g)
    return GradientStats(
        global_losses=losses.detach() if "global_losses" in weighting.requires else None,
        grad_norms=grads.norm(dim=1) if "grad_norms" in weighting.requires else None,
        gramian=grads @ grads.T if "gramian" in weighting.requires else None,
    )


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_coefficients_are_finite_detached_and_one_per_task(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    out = weighting(losses, stats_for(weighting, losses))
    assert out.coefficients.shape == (3,)
    assert torch.isfinite(out.coefficients).all()
    assert (out.coefficients >= 0).all() or not weighting.nonnegative
    assert not out.coefficients.requires_grad
    assert out.extra.shape == () and torch.isfinite(out.extra)
    assert torch.equal(weighting.current_coefficients(), out.coefficients)
    assert weighting.requires <= {"global_losses", "grad_norms", "gramian"}


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_learnable_state_gets_gradient_only_through_extra_and_has_its_own_group(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    out = weighting(losses, stats_for(weighting, losses))
    objective = (out.coefficients * losses).sum() + out.extra
    objective.backward()
    # d objective / d L_t is the coefficient: the strategy's own term never backpropagates into the losses
    assert torch.allclose(losses.grad, out.coefficients)
    params = list(weighting.parameters())
    groups = weighting.param_groups(base_lr=0.1)
    assert {id(p) for g in groups for p in g["params"]} == {id(p) for p in params}
    assert all(g["weight_decay"] == 0.0 for g in groups)


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_state_round_trips_through_a_checkpoint(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    with torch.no_grad():
        for p in weighting.parameters():
            p.add_(torch.linspace(0.1, 0.3, p.numel()).reshape(p.shape))
    weighting(losses, stats_for(weighting, losses))
    buffer = io.BytesIO()
    torch.save(weighting.state_dict(), buffer)
    buffer.seek(0)
    restored = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(restored.current_coefficients(), weighting.current_coefficients())
    for key, value in weighting.state_dict().items():
        assert torch.equal(restored.state_dict()[key], value)


def _permuted_stats(stats: GradientStats, order: list[int]) -> GradientStats:
    def rows(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[order]

    gramian = None if stats.gramian is None else stats.gramian[order][:, order]
    return GradientStats(
        global_losses=rows(stats.global_losses), grad_norms=rows(stats.grad_norms), gramian=gramian
    )


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_coefficients_satisfy_the_declared_normalization(name: str) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    coefficients = weighting(losses, stats_for(weighting, losses)).coefficients
    expected = {"sum_to_one": 1.0, "sum_to_num_tasks": 3.0}.get(weighting.normalization)
    assert weighting.normalization in ("sum_to_one", "sum_to_num_tasks", "none")
    if expected is not None:
        assert float(coefficients.sum()) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "name", [n for n in WEIGHTINGS.names() if WEIGHTINGS.resolve(n).permutation_invariant]
)
def test_relabelling_the_tasks_permutes_the_coefficients(name: str) -> None:
    order = [2, 0, 1]
    permuted_tasks = {k: TASKS[k] for k in [list(TASKS)[i] for i in order]}
    losses = torch.tensor([1.5, 20.0, 0.7], requires_grad=True)
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    permuted = WEIGHTINGS.build({"name": name}, tasks=permuted_tasks)
    for _ in range(3):  # a few steps, so that stateful strategies move away from their initial state
        stats = stats_for(weighting, losses)
        original = weighting(losses, stats).coefficients
        relabelled = permuted(losses[order], _permuted_stats(stats, order)).coefficients
        weighting.on_after_optimizer_step()
        permuted.on_after_optimizer_step()
        assert torch.allclose(relabelled, original[order], atol=1e-5)


def test_every_weighting_gets_identical_coefficients_on_both_ranks_of_a_ddp_run(tmp_path: Path) -> None:
    """One 2-process CPU DDP run on a table with missing labels (experiment=table_demo, 800 rows;
    nash_mtl trains, its state checked by RankConsistencyCheck); a callback feeds every registered weighting
    the module's rank-reduced statistics at every step and all-gathers their coefficients
    (tests/weighting/test_gramian.py adds a real gradvac run in bf16). Task ``churn`` (binary) is labelled on
    rank 0 only, in training and validation: its count is global, so both ranks see it present and agree,
    and its metrics (exact AUROC included) are computed by both ranks from rank 0's labels."""
    run_dir = tmp_path / "run"
    args = [
        "experiment=table_demo",
        "data.rows=800",  # 640 train rows: 5 steps of 64 per rank
        "data.batch_size=64",
        "trainer=ddp_cpu",
        "trainer.max_epochs=1",
        "trainer.num_sanity_val_steps=0",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "~callbacks.rich_progress_bar",
        "weighting=nash_mtl",
        "test=false",
        "+callbacks.rank_check._target_=plugins.RankConsistencyCheck",
        "+callbacks.all_weightings._target_=plugins.AllWeightingsRankCheck",
        "+callbacks.labels._target_=label_plugins.LabelsOnRankZeroOnly",
        "+callbacks.labels.task=churn",
        f"hydra.run.dir={run_dir}",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    labels = json.loads((run_dir / "rank_labels.json").read_text())
    assert labels["local"] == [[64.0, 0.0]] * 5, "rank 1 has no label of the task"
    assert labels["seen"] == [[64.0, 64.0]] * 5, "both ranks see the global count"
    report = json.loads((run_dir / "all_weightings_rank_check.json").read_text())
    assert report["world_size"] == 2 and report["checks"] == 5
    assert sorted(report["max_diff"]) == WEIGHTINGS.names()
    assert report["max_diff"] == {name: 0.0 for name in WEIGHTINGS.names()}
    for name in WEIGHTINGS.names():
        assert all(math.isfinite(c) for c in report["last"][name]), name
    trained = json.loads((run_dir / "rank_check.json").read_text())
    assert trained["max_weighting_diff"] == 0.0 and trained["max_param_diff"] == 0.0
    assert trained["coefficients"][-1] != trained["coefficients"][0], "nash_mtl's coefficients moved"
    metrics = json.loads((run_dir / "summary.json").read_text())["metrics"]
    for name in ("val/churn/auroc", "val/churn/accuracy", "train/churn/auroc", "val/churn/loss"):
        assert math.isfinite(metrics[name]), name


def test_strategies_balancing_every_task_in_every_step_are_refused_with_one_task_per_step() -> None:
    balancing = {n for n in WEIGHTINGS.names() if WEIGHTINGS.resolve(n).needs_all_tasks}
    assert balancing == {"gradnorm", *TORCHJD_BACKED}
    one_task = SimpleNamespace(one_task_per_step=True)
    with pytest.raises(
        ConfigError, match=r"^weighting=mgda: needs every task in every step, but data.mode=sample"
    ):
        check_tasks_per_step(WEIGHTINGS.build({"name": "mgda"}, tasks=TASKS), one_task, "mgda")  # type: ignore[arg-type]
    check_tasks_per_step(WEIGHTINGS.build({"name": "famo"}, tasks=TASKS), one_task, "famo")  # type: ignore[arg-type]


TORCHJD_BACKED = [n for n in WEIGHTINGS.names() if issubclass(WEIGHTINGS.resolve(n), TorchJDWeighting)]


def _gramians(steps: int) -> list[torch.Tensor]:
    """Gramians of conflicting task gradients (negative inner products), of very different norms."""
    g = torch.Generator().manual_seed(1)
    base = torch.tensor([[1.0, 0.0, 0.0], [-0.6, 0.8, 0.0], [-0.5, -0.5, 0.7]])
    jacobians = [
        (base + 0.3 * torch.randn(3, 3, generator=g)) * torch.tensor([[1.0], [5.0], [0.2]])
        for _ in range(steps)
    ]
    return [j @ j.T for j in jacobians]


@pytest.mark.parametrize("name", TORCHJD_BACKED)
def test_coefficients_are_torchjds_weights_on_the_same_gramian(name: str) -> None:
    """Same coefficients as a fresh torchjd Weighting fed the same Gramians (several steps, so the state
    of stateful strategies is exercised); random strategies get torchjd under the same seed."""
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    reference = type(weighting).torchjd_class(**weighting.torchjd_kwargs)
    losses = torch.ones(3)
    for gramian in _gramians(4):
        ours = weighting(losses, GradientStats(gramian=gramian)).coefficients
        stat = gramian.double()
        if name == "nash_mtl":  # torchjd's Nash-MTL takes the matrix J; any J with J J^T = G is the same
            stat = torch.linalg.cholesky(stat)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(weighting.call_seed(int(weighting.calls) - 1))
            expected = reference(stat).float()
        assert ours.dtype == torch.float32 and not ours.requires_grad
        assert torch.allclose(ours, expected, rtol=1e-4, atol=1e-6), (ours, expected)
        weighting.on_after_optimizer_step()


@pytest.mark.parametrize("name", TORCHJD_BACKED)
def test_restored_strategy_gives_the_same_next_coefficients(name: str) -> None:
    # Nash-MTL's state decides the coefficients when alpha is reused between solves
    spec = {"name": name, **({"update_weights_every": 2} if name == "nash_mtl" else {})}
    weighting = WEIGHTINGS.build(spec, tasks=TASKS)
    *history, last = _gramians(4)
    losses = torch.ones(3)
    for gramian in history:
        weighting(losses, GradientStats(gramian=gramian))
    buffer = io.BytesIO()
    torch.save(weighting.state_dict(), buffer)
    buffer.seek(0)
    restored = WEIGHTINGS.build(spec, tasks=TASKS)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    expected = weighting(losses, GradientStats(gramian=last)).coefficients
    assert torch.equal(restored(losses, GradientStats(gramian=last)).coefficients, expected)
    fresh = WEIGHTINGS.build(spec, tasks=TASKS)
    if weighting.stateful:  # the state matters: a fresh strategy gives other coefficients on that Gramian
        assert not torch.allclose(fresh(losses, GradientStats(gramian=last)).coefficients, expected)


@pytest.mark.parametrize("name", TORCHJD_BACKED)
def test_strategy_leaves_the_training_random_stream_untouched(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    # fork_rng(devices=[]) restores the CPU generator only: reseeding CUDA's would change a GPU run's stream
    cuda_seeds: list[int] = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", cuda_seeds.append)
    weighting(torch.ones(3), GradientStats(gramian=_gramians(1)[0]))
    assert torch.equal(torch.rand(3), expected)
    assert cuda_seeds == []


#: A tiny bf16-mixed run: 3 training steps of 32 samples, one validation batch, no test.
TINY_BF16 = [
    *FAST,
    *SMALL_CNN,
    "trainer.precision=bf16-mixed",
    "trainer.max_steps=3",
    "trainer.max_epochs=1",
    "data.train_size=96",
    "data.val_size=32",
    "data.test_size=32",
    "data.batch_size=32",
    "test=false",
]


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_bf16_mixed_run_trains_with_finite_coefficients(name: str, tmp_path: Path) -> None:
    result = run_experiment(compose_config([*TINY_BF16, f"weighting={name}"], tmp_path / "run"))
    assert result.status == "completed"
    assert set(result.weights) == {"left", "right", "sum"}
    assert all(math.isfinite(w) for w in result.weights.values())
    logged = [v for k, v in result.metrics.items() if k.startswith("train/weight/") or k == "train/objective"]
    assert len(logged) == 4 and all(math.isfinite(v) for v in logged)
