"""Multiruns: sweep_summary.json, job failures, launchers, sweep directories, the resumable Optuna search."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import FAST, SMALL_CNN, run_cli, run_multirun
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from mtl_lab.config import config_dir
from mtl_lab.summary import RunSummary, write_summary
from mtl_lab.sweeps import SWEEP_SUMMARY_FILE

CONF = config_dir()
TINY = [*FAST, *SMALL_CNN]
SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))


def _compose_with_hydra(*overrides: str) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def _sweep_summary(sweep_dir: Path) -> dict[str, Any]:
    return json.loads((sweep_dir / SWEEP_SUMMARY_FILE).read_text())


# ----------------------------------------------------------------------------- in-process multiruns


def _fake_job(cfg: DictConfig) -> float:
    """Stands in for training: records the job's experiment and writes a completed summary."""
    metric = {"name": cfg.optimized_metric, "value": 1.0}
    out = Path(HydraConfig.get().runtime.output_dir)
    write_summary(RunSummary(status="completed", tasks={}, optimized_metric=metric), out / "summary.json")
    (out / "data.txt").write_text(str(cfg.data.name))
    return 1.0


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_experiment_glob_runs_every_experiment_and_sweeps_started_together_get_their_own_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run_multirun(_fake_job, ["experiment=glob(*)"])
    run_multirun(_fake_job, ["experiment=glob(*)"])
    sweep_dirs = sorted((tmp_path / "outputs" / "multirun").glob("*/*"))
    assert len(sweep_dirs) == 2, "two multiruns started within the same second never share a directory"
    assert all(re.fullmatch(r"\d\d-\d\d-\d\d_\d{6}", d.name) for d in sweep_dirs)
    experiments = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
    for sweep_dir in sweep_dirs:
        summary = _sweep_summary(sweep_dir)
        assert summary["finished"] and summary["counts"] == {
            "completed": len(experiments),
            "failed": 0,
            "diverged": 0,
        }
        assert [job["overrides"] for job in summary["jobs"]] == [[f"experiment={e}"] for e in experiments]
        assert [job["num"] for job in summary["jobs"]] == list(range(len(experiments)))
        assert all(job["optimized_metric"] == {"name": "val/loss", "value": 1.0} for job in summary["jobs"])
    # the experiment's own groups were selected in its job (gradnorm_toy uses the toy data)
    assert (sweep_dirs[0] / "0" / "data.txt").read_text() == "gradnorm_toy"


# ----------------------------------------------------------------------------- launcher configs


def test_joblib_launcher_runs_jobs_in_parallel_processes() -> None:
    launcher = _compose_with_hydra("hydra/launcher=joblib").hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    assert launcher.n_jobs == -1 and launcher.prefer == "processes"


def test_slurm_launcher_config_requests_one_task_per_device() -> None:
    cfg = _compose_with_hydra(
        "hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4", "trainer.num_nodes=2"
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.nodes, launcher.gpus_per_node, launcher.tasks_per_node) == (2, 4, 4)
    assert launcher.timeout_min > 0 and launcher.partition is None
    assert launcher.submitit_folder.endswith("/.submitit/%j")


# ----------------------------------------------------------------------------- Optuna search configs


@pytest.mark.parametrize("search", SEARCHES)
def test_search_configs_use_the_resumable_sweeper_with_its_study_in_the_sweep_dir(search: str) -> None:
    cfg = _compose_with_hydra(f"hparams_search={search}", "hydra.sweep.dir=sw")
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.mtl_lab_sweeper.resumable_optuna.ResumableOptunaSweeper"
    assert sweeper.direction == "minimize" and sweeper.study_name == search
    assert sweeper.storage == f"sqlite:///{Path.cwd() / 'sw'}/optuna.db"
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler" and sweeper.sampler.seed == 0
    assert sweeper.n_trials == 20 and "optimizer.lr" in sweeper.params
    assert cfg.hydra.mode.name == "MULTIRUN"
    assert cfg.hydra.callbacks.sweep_summary.fail_on_job_failure is False
    expected_weighting = {"gradnorm_alpha": "gradnorm", "uncertainty_init": "uncertainty"}.get(
        search, "fixed"
    )
    assert cfg.weighting.name == expected_weighting


@pytest.mark.parametrize(
    ("metric", "direction"), [("val/left/accuracy", "maximize"), ("val/sum/mae", "minimize")]
)
def test_search_direction_follows_the_optimized_metric(metric: str, direction: str) -> None:
    cfg = _compose_with_hydra("hparams_search=lr", f"optimized_metric={metric}")
    assert cfg.hydra.sweeper.direction == direction


# ----------------------------------------------------------------------------- subprocess sweeps


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_failed_and_diverged_jobs_are_recorded_and_the_others_run_under_joblib(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    args = [
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "weighting.name=fixed,wrong,plugins:NaNAfter",
        "~weighting.weights",
        f"hydra.sweep.dir={sweep_dir}",
        *TINY,
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"mtl-train: error: 2 of 3 jobs did not complete (#1 failed, #2 diverged); "
        f"see {sweep_dir / SWEEP_SUMMARY_FILE}"
    )
    assert "Joblib.Parallel(n_jobs=2" in result.stdout + result.stderr
    summary = _sweep_summary(sweep_dir)
    assert summary["finished"] and summary["counts"] == {"completed": 1, "failed": 1, "diverged": 1}
    jobs = summary["jobs"]
    assert [(j["num"], j["status"]) for j in jobs] == [(0, "completed"), (1, "failed"), (2, "diverged")]
    # (Hydra writes sweep values escaped: plugins\:NaNAfter)
    names = [j["overrides"][0].replace("\\", "") for j in jobs]
    assert names == [f"weighting.name={w}" for w in ("fixed", "wrong", "plugins:NaNAfter")]
    assert jobs[0]["optimized_metric"]["name"] == "val/loss" and jobs[0]["optimized_metric"]["value"] > 0
    assert jobs[1]["error"].startswith("ConfigError: weighting.name: unknown weighting 'wrong'")
    assert jobs[2]["error"].startswith("training diverged at step 5")
    assert jobs[1]["optimized_metric"] == {"name": "val/loss", "value": None}
    for job in jobs:
        assert json.loads((Path(job["dir"]) / "summary.json").read_text())["status"] == job["status"]


def _search_args(sweep_dir: Path, n_trials: int, *extra: str) -> list[str]:
    return [
        "hparams_search=lr",
        f"hydra.sweeper.n_trials={n_trials}",
        f"hydra.sweep.dir={sweep_dir}",
        *TINY,
        "trainer.max_epochs=1",
        "test=false",
        *extra,
    ]


def _trials(sweep_dir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(sweep_dir / "optuna.db") as db:
        return db.execute("SELECT number, state FROM trials ORDER BY number").fetchall()


def test_search_records_a_diverged_trial_as_failed_and_names_the_best_trial(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "search"
    # trial 0 draws after=0 (NaN from the first step), trials 1 and 2 after=1000 (TPE seed 0)
    divergent = ["weighting.name=plugins:NaNAfter", "~weighting.weights", "+weighting.after=choice(0,1000)"]
    result = run_cli(_search_args(sweep_dir, 3, *divergent), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _trials(sweep_dir) == [(0, "FAIL"), (1, "COMPLETE"), (2, "COMPLETE")]
    summary = _sweep_summary(sweep_dir)
    assert [(j["num"], j["status"]) for j in summary["jobs"]] == [
        (0, "diverged"),
        (1, "completed"),
        (2, "completed"),
    ]
    assert summary["jobs"][0]["optimized_metric"]["value"] is None
    results = OmegaConf.to_container(OmegaConf.load(sweep_dir / "optimization_results.yaml"))
    values = {j["num"]: j["optimized_metric"]["value"] for j in summary["jobs"][1:]}
    best = min(values, key=values.get)
    assert results["best_trial"]["number"] == best and results["best_trial"]["value"] == pytest.approx(
        values[best]
    )
    assert results["best_trial"]["job_dir"] == str(sweep_dir / str(best))
    assert results["trials"] == {"completed": 2, "failed": 1, "interrupted": 0}
    assert set(results["best_params"]) == {"optimizer.lr", "+weighting.after"}


def test_killed_search_resumes_with_the_remaining_trials_in_new_job_dirs(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "search"
    kill = ["+hydra.callbacks.kill._target_=plugins.KillAtJob", "+hydra.callbacks.kill.num=1"]
    first = run_cli(_search_args(sweep_dir, 3, *kill), cwd=tmp_path)
    assert first.returncode == 137
    assert _trials(sweep_dir) == [(0, "COMPLETE"), (1, "RUNNING")]
    before = (sweep_dir / "0" / "summary.json").read_text()
    assert not (sweep_dir / "1" / "summary.json").exists()

    second = run_cli(_search_args(sweep_dir, 3), cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "2 of 3 trials to run; trials [1] were interrupted" in second.stdout + second.stderr
    assert _trials(sweep_dir) == [(0, "COMPLETE"), (1, "FAIL"), (2, "COMPLETE"), (3, "COMPLETE")]
    assert (sweep_dir / "0" / "summary.json").read_text() == before, "job 0 was not run again"
    assert not (sweep_dir / "1" / "summary.json").exists(), "the killed trial's directory is left alone"
    summary = _sweep_summary(sweep_dir)
    statuses = [(j["num"], j["status"]) for j in summary["jobs"]]
    assert statuses == [(0, "completed"), (1, "failed"), (2, "completed"), (3, "completed")]
    assert summary["jobs"][1]["error"].startswith("no summary.json")
    results = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert results.trials == {"completed": 3, "failed": 1, "interrupted": 1}
    values = {j["num"]: j["optimized_metric"]["value"] for j in summary["jobs"] if j["status"] == "completed"}
    assert results.best_trial.number == min(values, key=values.get)
