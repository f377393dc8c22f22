"""torchjd-backed Gramian weightings: registry <-> torchjd classes, configs, errors, Nash-MTL's solver,
real runs (parameter-level Gramian, gradient accumulation + clipping, DDP)."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import FAST, SMALL_CNN, compose_config, run_cli
from omegaconf import DictConfig, OmegaConf
from torchjd import aggregation
from torchjd.aggregation._nash_mtl import _NashMTLWeighting

from mtl_lab import gradients
from mtl_lab.config import config_dir
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_experiment, run_experiment
from mtl_lab.tasks import TaskSpec
from mtl_lab.weighting import WEIGHTINGS, GradientStats, TorchJDWeighting
from mtl_lab.weighting.nash_mtl import NashSolverError

TASKS = {t: TaskSpec(t, "regression", 1) for t in ("a", "b", "c")}

TORCHJD_CLASSES = {
    "aligned_mtl": aggregation.AlignedMTLWeighting,
    "cagrad": aggregation.CAGradWeighting,
    "dualproj": aggregation.DualProjWeighting,
    "fairgrad": aggregation.FairGradWeighting,
    "gradvac": aggregation.GradVacWeighting,
    "imtl_g": aggregation.IMTLGWeighting,
    "mgda": aggregation.MGDAWeighting,
    "nash_mtl": _NashMTLWeighting,
    "pcd": aggregation.PCDWeighting,
    "pcgrad": aggregation.PCGradWeighting,
    "upgrad": aggregation.UPGradWeighting,
}


def gramian_of(*rows: list[float]) -> torch.Tensor:
    jacobian = torch.tensor(rows)
    return jacobian @ jacobian.T


def test_registered_names_map_to_torchjds_weightings() -> None:
    backed = {n for n in WEIGHTINGS.names() if issubclass(WEIGHTINGS.resolve(n), TorchJDWeighting)}
    assert backed == set(TORCHJD_CLASSES)
    for name, torchjd_class in TORCHJD_CLASSES.items():
        weighting = WEIGHTINGS.build({"name": name}, tasks=TASKS)
        assert isinstance(weighting.solver, torchjd_class)
        assert weighting.requires == {"gramian"} and weighting.grad_level == "representation"
        assert type(weighting).key == name
        # the torchjd object is not a submodule: not moved by .to(), not in the state_dict
        assert all(not isinstance(m, torchjd_class) for m in weighting.modules())
    assert type(aggregation.NashMTL(n_tasks=3).weighting) is _NashMTLWeighting


@pytest.mark.parametrize("name", sorted(TORCHJD_CLASSES))
def test_yaml_lists_every_hyper_parameter_with_its_default(name: str) -> None:
    node = OmegaConf.to_container(OmegaConf.load(config_dir() / "weighting" / f"{name}.yaml"))
    assert node.pop("name") == name
    parameters = inspect.signature(WEIGHTINGS.resolve(name)).parameters
    assert set(node) == set(parameters) - {"self", "tasks"}
    for key, value in node.items():
        if key != "seed":  # seed: ${seed}, the run's seed
            assert value == parameters[key].default, key
    assert re.search(r"\b20\d\d\b", WEIGHTINGS.resolve(name).__doc__ or ""), "the paper and its year"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "cagrad", "cc": 0.4}, "weighting.cagrad: unexpected key 'cc'; accepted keys: c, norm_eps"),
        ({"name": "cagrad", "c": -1.0}, "weighting.name=cagrad: c must be non-negative, but got -1.0."),
        ({"name": "mgda", "max_iters": 0}, "weighting.name=mgda: max_iters must be a positive integer"),
        ({"name": "gradvac", "beta": 2.0}, "weighting.name=gradvac: Attribute `beta` must be in [0, 1]"),
        ({"name": "pcd", "tau": 1.5}, "weighting.name=pcd: Attribute `tau` must be in [0, 1]"),
        ({"name": "fairgrad", "alpha": -1.0}, "weighting.alpha: must be >= 0, got -1.0"),
        ({"name": "pcgrad", "seed": -1}, "weighting.seed: must be >= 0 or null, got -1"),
        ({"name": "nash_mtl", "max_failed_steps": -1}, "weighting.max_failed_steps: must be >= 0, got -1"),
        ({"name": "nash_mtl", "max_norm": -1.0}, "weighting.name=nash_mtl: max_norm must be non-negative"),
        ({"name": "aligned_mtl", "scale_mode": "max"}, "weighting.aligned_mtl.scale_mode: expected 'min' or"),
        (
            {"name": "upgrad", "pref_vector": {"a": 1.0}},
            "weighting.pref_vector: upgrad needs a value for every",
        ),
        (
            {"name": "dualproj", "pref_vector": {"a": 1, "b": -1, "c": 1}},
            "weighting.pref_vector: values must",
        ),
        ({"name": "mgda", "grad_level": "layer"}, "weighting.grad_level: unknown gradient level 'layer'"),
    ],
)
def test_bad_hyper_parameters_fail_with_one_line(spec: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        WEIGHTINGS.build(spec, tasks=TASKS)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_preference_vector_is_given_per_task_in_the_tasks_order() -> None:
    weighting = WEIGHTINGS.build(
        {"name": "upgrad", "pref_vector": {"c": 3.0, "a": 1.0, "b": 2.0}}, tasks=TASKS
    )
    assert torch.equal(weighting.solver.pref_vector, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    # orthogonal gradients: nothing to project, the weights are the preference itself
    out = weighting(torch.ones(3), GradientStats(gramian=torch.eye(3)))
    assert torch.allclose(out.coefficients, torch.tensor([1.0, 2.0, 3.0]))


def test_missing_optional_solver_is_a_config_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchjd._mixins

    real = torchjd._mixins.find_spec
    monkeypatch.setattr(torchjd._mixins, "find_spec", lambda name: None if name == "ecos" else real(name))
    with pytest.raises(ConfigError) as error:
        WEIGHTINGS.build({"name": "nash_mtl"}, tasks=TASKS)
    assert 'pip install "torchjd[nash_mtl]"' in str(error.value) and "\n" not in str(error.value)


def test_nash_mtl_solver_is_installed_and_reaches_the_bargaining_solution() -> None:
    import cvxpy
    import ecos  # noqa: F401  (the extra is really installed)

    assert "ECOS" in cvxpy.installed_solvers()
    weighting = WEIGHTINGS.build({"name": "nash_mtl", "max_norm": 0.0, "optim_niter": 50}, tasks=TASKS)
    gramian = gramian_of([1.0, 0.2, 0.0, 0.0], [-0.5, 2.0, 0.1, 0.0], [0.1, 0.1, 0.3, 0.2])
    alpha = weighting(torch.ones(3), GradientStats(gramian=gramian)).coefficients.double()
    assert weighting.solver.prob.status == "optimal" and int(weighting.solver_failures) == 0
    assert not torch.allclose(alpha, torch.ones(3, dtype=torch.float64))
    # Nash bargaining optimality (Navon et al., eq. 2): (G alpha)_i = 1 / alpha_i for every task
    assert torch.allclose(alpha * (gramian.double() @ alpha), torch.ones(3, dtype=torch.float64), rtol=2e-2)


def test_nash_mtl_solver_failures_are_counted_warned_and_fatal_after_max_failed_steps() -> None:
    tasks = dict(list(TASKS.items())[:2])
    weighting = WEIGHTINGS.build({"name": "nash_mtl", "max_failed_steps": 2, "max_norm": 0.0}, tasks=tasks)
    healthy = weighting(torch.ones(2), GradientStats(gramian=gramian_of([1.0, 0.0], [0.3, 1.0])))
    degenerate = GradientStats(gramian=gramian_of([0.0, 0.0], [0.0, 1.0]))  # a zero gradient: no solution
    with pytest.warns(RuntimeWarning, match="nash_mtl: the ECOS solver failed"):
        reused = weighting(torch.ones(2), degenerate)
    assert torch.equal(reused.coefficients, healthy.coefficients)  # torchjd reused the previous alpha
    assert weighting.logged_values() == {"nash_mtl/solver_failures": torch.tensor(1.0)}
    with pytest.raises(NashSolverError, match="failed on 2 consecutive steps"):
        weighting(torch.ones(2), degenerate)


def test_non_finite_gramian_leaves_coefficients_and_state_unchanged() -> None:
    weighting = WEIGHTINGS.build({"name": "gradvac"}, tasks=TASKS)
    weighting(torch.ones(3), GradientStats(gramian=gramian_of([1.0, 0.0], [-0.9, 0.5], [0.2, -1.0])))
    before = {k: v.clone() for k, v in weighting.state_dict().items()}
    overflowed = torch.full((3, 3), float("inf"))
    out = weighting(torch.ones(3), GradientStats(gramian=overflowed))
    assert torch.equal(out.coefficients, before["coefficients"])
    assert all(torch.equal(v, before[k]) for k, v in weighting.state_dict().items())


def test_parameter_level_gramian_is_used_in_a_real_run(
    make_config: Callable[..., DictConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(
        "weighting=mgda",
        "weighting.grad_level=params",
        *SMALL_CNN,
        "data.train_size=128",
        "trainer.max_epochs=1",
        "test=false",
    )
    experiment = build_experiment(cfg)
    module = experiment.module
    shared = {id(p) for p in module.model.architecture.shared_parameters()}
    levels, inputs = [], []
    original = gradients.level_inputs

    def spy(architecture: object, output: object, level: str) -> tuple[list[torch.Tensor], None]:
        found, views = original(architecture, output, level)
        levels.append(level)
        inputs.append({id(p) for p in found})
        return found, views

    monkeypatch.setattr(gradients, "level_inputs", spy)
    experiment.trainer.fit(module, datamodule=experiment.datamodule)
    assert levels and set(levels) == {"params"} and all(ids == shared for ids in inputs)
    assert float(module.weighting.current_coefficients().sum()) == pytest.approx(1.0, rel=1e-5)


def test_gradient_accumulation_and_clipping_keep_per_micro_batch_statistics(
    make_config: Callable[..., DictConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(
        "weighting=gradvac",
        *SMALL_CNN,
        "trainer.max_epochs=1",
        "trainer.accumulate_grad_batches=2",
        "trainer.gradient_clip_val=0.5",
        "test=false",
    )
    experiment = build_experiment(cfg)
    module, weighting = experiment.module, experiment.module.weighting
    gramians: list[torch.Tensor] = []
    original = module.statistics

    def spy(step: object, *args: object) -> GradientStats:
        stats = original(step, *args)
        gramians.append(stats.gramian.clone())
        return stats

    monkeypatch.setattr(module, "statistics", spy)
    clipped = []
    monkeypatch.setattr(
        module,
        "clip_gradients",
        lambda *a, **k: clipped.append(k) or type(module).clip_gradients(module, *a, **k),
    )
    experiment.trainer.fit(module, datamodule=experiment.datamodule)
    micro_batches = 256 // 64
    assert experiment.trainer.global_step == micro_batches // 2
    assert int(weighting.calls) == len(gramians) == micro_batches  # one Gramian per micro-batch
    assert not torch.allclose(gramians[0], gramians[1])
    assert len(clipped) == micro_batches // 2 and clipped[0]["gradient_clip_val"] == 0.5
    assert torch.isfinite(weighting.current_coefficients()).all()


@pytest.mark.slow  # ~20 s; the default suite checks rank consistency of every strategy in one DDP run
def test_ddp_run_of_a_random_stateful_strategy_in_bf16_keeps_ranks_identical(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = [
        *FAST,
        *SMALL_CNN,
        "trainer=ddp_cpu",
        "weighting=gradvac",
        "trainer.precision=bf16-mixed",
        "test=false",
        "+callbacks.rank_check._target_=plugins.RankConsistencyCheck",
        f"hydra.run.dir={run_dir}",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run_dir / "rank_check.json").read_text())
    assert report["world_size"] == 2 and report["checks"] == 4
    assert report["max_weighting_diff"] == 0.0 and report["max_param_diff"] == 0.0
    assert report["coefficients"][-1] != report["coefficients"][0], "the strategy's coefficients moved"


def test_same_seed_gives_the_same_run_with_a_random_strategy(tmp_path: Path) -> None:
    overrides = [
        *FAST,
        *SMALL_CNN,
        "weighting=pcgrad",
        "data.train_size=128",
        "trainer.max_epochs=1",
        "test=false",
    ]
    first = run_experiment(compose_config(overrides, tmp_path / "a"))
    second = run_experiment(compose_config(overrides, tmp_path / "b"))
    assert first.weights == second.weights and first.metrics == second.metrics
