"""DDP inside Hydra jobs: the extra ranks re-run the job itself, in its own directory, also under `-m`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import FAST, SMALL_CNN, run_cli
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from mtl_lab.config import config_dir
from mtl_lab.ddp import rank_command


def test_rank_command_reruns_the_job_from_its_overrides_in_its_directory(tmp_path: Path) -> None:
    task = ["weighting=gradnorm", "trainer=ddp_cpu", "tasks=[left,right]"]
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=task, return_hydra_config=True)
    job_dir = tmp_path / "my jobs" / "3"
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(job_dir)
        cfg.hydra.job.config_name = "train"
        cfg.hydra.overrides.hydra = [
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            f"hydra.sweep.dir={tmp_path / 'my jobs'}",
            "hydra.mode=MULTIRUN",
            "hydra.verbose=true",
        ]
    HydraConfig.instance().set_config(cfg)
    try:
        command = rank_command(1)
    finally:
        HydraConfig.instance().cfg = None
    # no -m, no launcher/sweeper/sweep-dir settings: one run of this job, in the job's directory
    assert command == [
        sys.executable,
        "-m",
        "mtl_lab.train",
        "--config-path",
        str(config_dir()),
        "--config-name",
        "train",
        "hydra.verbose=true",
        *task,
        f'hydra.run.dir="{job_dir}"',
        "hydra.job.name=train_ddp_process_1",
        "hydra.output_subdir=null",
        "hydra.mode=RUN",
    ]


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_ddp_inside_a_multirun_runs_both_ranks_of_every_job_in_the_job_directory(tmp_path: Path) -> None:
    args = [
        "-m",
        "weighting=fixed,gradnorm",
        "trainer=ddp_cpu",
        *FAST,
        *SMALL_CNN,
        "trainer.max_epochs=1",
        "+callbacks.rank_check._target_=plugins.RankConsistencyCheck",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == ["multirun"], "no stray run directory"
    (sweep_dir,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    assert sorted(p.name for p in sweep_dir.iterdir() if not p.name.startswith(".")) == [
        "0",
        "1",
        "multirun.yaml",
        "sweep_summary.json",
    ]
    for num, weighting in enumerate(["fixed", "gradnorm"]):
        job_dir = sweep_dir / str(num)
        assert json.loads((job_dir / "summary.json").read_text())["status"] == "completed"
        assert (job_dir / "train_ddp_process_1.log").is_file(), "rank 1 ran in the job's directory"
        report = json.loads((job_dir / "rank_check.json").read_text())
        assert report["world_size"] == 2 and report["checks"] == 2  # 256 samples / (64 x 2 ranks), 1 epoch
        assert report["max_param_diff"] == 0.0
        config = (job_dir / ".hydra" / "config.yaml").read_text()
        assert f"name: {weighting}" in config
    summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
    assert [job["status"] for job in summary["jobs"]] == ["completed", "completed"]
