"""hydra/launcher=parallel: jobs side by side in processes of their own, torch threads per job, lost jobs."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import torch
from conftest import FAST, SMALL_CNN, run_cli, run_multirun
from hydra import compose, initialize_config_dir
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from mtl_lab.config import config_dir
from mtl_lab.errors import ConfigError
from mtl_lab.summary import RunSummary, write_summary
from mtl_lab.sweeps import SWEEP_SUMMARY_FILE
from mtl_lab.sweeps.parallel_jobs import jobs_at_once
from mtl_lab.sweeps.threads import cpu_cores, job_threads

CONF = config_dir()


def _record_job(cfg: DictConfig) -> float:
    """Stands in for training: records its process and threads, waits until every job of the sweep has
    started (so it completes only if the jobs run side by side), writes a completed summary."""
    out = Path(HydraConfig.get().runtime.output_dir)
    record = {
        "pid": os.getpid(),
        "threads": torch.get_num_threads(),
        "env": os.environ.get("OMP_NUM_THREADS"),
    }
    (out / "job.json").write_text(json.dumps(record))
    sweep_dir, jobs = out.parent, int(cfg.sweep_jobs)
    deadline = time.monotonic() + 120
    while len(list(sweep_dir.glob("*/job.json"))) < jobs:
        assert time.monotonic() < deadline, "the jobs of the sweep did not run side by side"
        time.sleep(0.05)
    metric = {"name": cfg.optimized_metric, "value": 1.0}
    write_summary(RunSummary(status="completed", tasks={}, optimized_metric=metric), out / "summary.json")
    return 1.0


def _crash_second_job(cfg: DictConfig) -> float:
    """Stands in for training: job 1 ends its process as a kill or a crash would."""
    if HydraConfig.get().job.num == 1:
        os._exit(3)
    return _completed(cfg)


def _completed(cfg: DictConfig) -> float:
    out = Path(HydraConfig.get().runtime.output_dir)
    metric = {"name": cfg.optimized_metric, "value": float(os.getpid())}
    write_summary(RunSummary(status="completed", tasks={}, optimized_metric=metric), out / "summary.json")
    return 1.0


# ----------------------------------------------------------------------------- the threads rule


def test_threads_per_job_follow_the_jobs_at_once_unless_set() -> None:
    assert job_threads(2, environ={}, cores=8) == 4
    assert job_threads(3, environ={}, cores=8) == 2
    assert job_threads(4, environ={}, cores=2) == 1, "never fewer than one"
    assert job_threads(1, environ={}, cores=8) == 8, "one job at a time: every core"
    assert job_threads(2, environ={"OMP_NUM_THREADS": "3"}, cores=8) is None, "the user's setting stays"
    assert job_threads(2, threads_per_job=3, environ={"OMP_NUM_THREADS": "1"}, cores=8) == 3
    with pytest.raises(ConfigError, match=r"^hydra.launcher.threads_per_job: must be >= 1 or null, got 0$"):
        job_threads(2, threads_per_job=0, environ={}, cores=8)


def test_n_jobs_counts_as_joblib_and_never_exceeds_the_jobs() -> None:
    assert jobs_at_once(-1, jobs=10, cores=4) == 4
    assert jobs_at_once(-2, jobs=10, cores=4) == 3
    assert jobs_at_once(-8, jobs=10, cores=4) == 1
    assert jobs_at_once(2, jobs=10, cores=4) == 2
    assert jobs_at_once(8, jobs=3, cores=4) == 3
    with pytest.raises(ConfigError, match=r"^hydra.launcher.n_jobs: must not be 0"):
        jobs_at_once(0, jobs=3, cores=4)


def test_parallel_launcher_config() -> None:
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONF), version_base="1.3"):
        launcher = compose("train", ["hydra/launcher=parallel"], return_hydra_config=True).hydra.launcher
    assert launcher._target_ == "hydra_plugins.mtl_lab_launcher.parallel.ParallelLauncher"
    assert (launcher.n_jobs, launcher.start_method, launcher.threads_per_job) == (-1, None, None)


# ----------------------------------------------------------------------------- in-process multiruns


# spawn (the default off Linux) starts new interpreters that import torch again: slow
@pytest.mark.parametrize("start_method", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_jobs_run_side_by_side_in_processes_of_their_own_with_their_share_of_the_cores(
    start_method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    sweep_dir = tmp_path / "sweep"
    launcher = [
        "hydra/launcher=parallel",
        "hydra.launcher.n_jobs=2",
        f"hydra.launcher.start_method={start_method}",
    ]
    run_multirun(_record_job, [*launcher, "seed=1,2", "+sweep_jobs=2", f"hydra.sweep.dir={sweep_dir}"])
    records = [json.loads((sweep_dir / str(num) / "job.json").read_text()) for num in (0, 1)]
    assert len({r["pid"] for r in records} | {os.getpid()}) == 3, "each job in a process of its own"
    threads = max(1, cpu_cores() // 2)
    assert all(r["threads"] == threads and r["env"] == str(threads) for r in records)
    summary = json.loads((sweep_dir / SWEEP_SUMMARY_FILE).read_text())
    assert summary["finished"] and summary["counts"] == {"completed": 2, "failed": 0, "diverged": 0}
    assert "OMP_NUM_THREADS" not in os.environ, "the sweep process keeps its own setting"


def test_users_omp_num_threads_is_left_to_every_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    sweep_dir = tmp_path / "sweep"
    run_multirun(
        _record_job,
        [
            "hydra/launcher=parallel",
            "hydra.launcher.n_jobs=2",
            "seed=1,2",
            "+sweep_jobs=2",
            f"hydra.sweep.dir={sweep_dir}",
        ],
    )
    for num in (0, 1):
        assert json.loads((sweep_dir / str(num) / "job.json").read_text())["env"] == "1"


def test_forked_jobs_use_the_configs_the_sweeper_composed_to_validate_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    composed = tmp_path / "composed"
    compose = ConfigLoaderImpl.load_sweep_config

    def recording(
        self: ConfigLoaderImpl, master_config: DictConfig, sweep_overrides: list[str]
    ) -> DictConfig:
        with composed.open("a") as record:
            record.write(f"{os.getpid()}\n")
        return compose(self, master_config, sweep_overrides)

    monkeypatch.setattr(ConfigLoaderImpl, "load_sweep_config", recording)
    sweep_dir = tmp_path / "sweep"
    run_multirun(
        _completed,
        ["hydra/launcher=parallel", "hydra.launcher.n_jobs=2", "seed=1,2,3", f"hydra.sweep.dir={sweep_dir}"],
    )
    assert composed.read_text().split() == [str(os.getpid())] * 3, "once per job, by the sweep process"
    for num, seed in enumerate((1, 2, 3)):
        job = OmegaConf.load(sweep_dir / str(num) / ".hydra" / "config.yaml")
        assert job.seed == seed
        assert OmegaConf.load(sweep_dir / str(num) / ".hydra" / "hydra.yaml").hydra.job.num == num


def test_a_job_whose_process_dies_fails_alone_and_is_named(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    with pytest.raises(RuntimeError, match=r"^job 1 \(seed=2\): its process ended with exit code 3 before"):
        run_multirun(
            _crash_second_job,
            [
                "hydra/launcher=parallel",
                "hydra.launcher.n_jobs=1",
                "seed=1,2,3",
                f"hydra.sweep.dir={sweep_dir}",
            ],
        )
    values = [json.loads((sweep_dir / str(num) / "summary.json").read_text()) for num in (0, 2)]
    assert [v["status"] for v in values] == ["completed", "completed"], "the other jobs ran"
    assert values[0]["optimized_metric"]["value"] != values[1]["optimized_metric"]["value"], (
        "a process per job"
    )
    assert not (sweep_dir / "1" / "summary.json").exists()


def test_an_error_outside_the_task_function_reaches_the_sweep_process(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    (sweep_dir / "1").write_text("a file where job 1's directory goes")
    with pytest.raises(FileExistsError):
        run_multirun(_completed, ["hydra/launcher=parallel", "seed=1,2", f"hydra.sweep.dir={sweep_dir}"])
    assert json.loads((sweep_dir / "0" / "summary.json").read_text())["status"] == "completed"


def test_a_wrong_launcher_setting_is_one_line(tmp_path: Path) -> None:
    overrides = [
        "hydra/launcher=parallel",
        "hydra.launcher.start_method=forkk",
        f"hydra.sweep.dir={tmp_path}",
    ]
    expected = (
        "mtl-train: error: hydra.launcher.start_method: unknown start method 'forkk'; "
        "choices: fork, spawn; did you mean 'fork'?"
    )
    with pytest.raises(SystemExit, match=f"^{re.escape(expected)}$"):
        run_multirun(_completed, overrides)


# ----------------------------------------------------------------------------- mtl-train -m


def test_mtl_train_runs_real_jobs_side_by_side_and_records_a_failed_one(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    launcher = ["hydra/launcher=parallel", "hydra.launcher.n_jobs=2", "hydra.launcher.threads_per_job=1"]
    args = [
        "-m",
        *launcher,
        "weighting.name=fixed,wrong",
        "~weighting.weights",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    result = run_cli([*args, *FAST, *SMALL_CNN], cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "Launching 2 jobs, 2 at a time in forked processes, torch threads per job: 1;"
        in result.stdout + result.stderr
    )
    summary = json.loads((sweep_dir / SWEEP_SUMMARY_FILE).read_text())
    assert summary["counts"] == {"completed": 1, "failed": 1, "diverged": 0}
    assert summary["jobs"][1]["error"].startswith("ConfigError: weighting.name: unknown weighting 'wrong'")
