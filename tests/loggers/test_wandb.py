"""``logger=wandb`` and ``logger=many`` end to end, W&B offline: what each run recorded is read back
from its local transaction log (``<run dir>/wandb/offline-run-*/run-*.wandb``)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import wandb
import yaml
from conftest import FAST, SMALL_CNN, run_cli
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers.logger import DummyExperiment
from pytorch_lightning.utilities.rank_zero import rank_zero_only
from wandb_records import OfflineRun, offline_runs

from mtl_lab.errors import ConfigError, DivergenceError
from mtl_lab.experiment import run_experiment
from mtl_lab.loggers import WandbRunLogger, wandb_run
from mtl_lab.loggers.wandb_run import summary_fields
from mtl_lab.loggers.wandb_setup import ModeChoice

TASKS = ("left", "right", "sum")
#: 256 training samples in batches of 64 for 2 epochs; every step logged
STEPS = 8
LOG_EVERY_STEP = "trainer.log_every_n_steps=1"
#: the shortest real run, for subprocesses: 2 training steps, no test
ONE_SHORT_EPOCH = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "test=false"]


def the_run(run_dir: Path) -> OfflineRun:
    (run,) = offline_runs(run_dir)
    return run


def test_wandb_records_config_tags_metrics_coefficients_summary_and_best_checkpoint(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config(
        "logger=wandb", "weighting=uncertainty", "logger.wandb.tags=[baseline]", LOG_EVERY_STEP, *SMALL_CNN
    )
    run_experiment(cfg)
    run_dir = Path(cfg.paths.output_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    run = the_run(run_dir)
    assert wandb.run is None and run.exit_code == 0, "the W&B run is finished"
    assert run.run.project == "mtl_lab" and run.run.job_type == "train" and run.run.run_group == ""
    assert list(run.run.tags) == [
        "baseline",
        "weighting:uncertainty",
        "data:multi_digits",
        "encoder:cnn",
        "architecture:shared",
    ]

    # the resolved config
    assert run.config["weighting"] == OmegaConf.to_container(cfg.weighting) and run.config["seed"] == 0
    assert run.config["paths"]["output_dir"] == str(run_dir)
    assert run.config["callbacks"]["model_checkpoint"]["mode"] == "min"  # ${metric_mode:...} resolved

    # coefficients of every task at every step, against trainer/global_step
    steps = [row for row in run.history if "train/weight/left" in row]
    assert [row["trainer/global_step"] for row in steps] == list(range(STEPS))
    assert all({f"train/weight/{t}" for t in TASKS} | {"train/objective"} <= set(r) for r in steps)
    losses = [row["trainer/global_step"] for row in run.history if "train/loss" in row]
    assert losses == list(range(STEPS))  # train/loss goes through self.log (the progress bar shows it)
    assert steps[-1]["train/weight/sum"] != steps[0]["train/weight/sum"], "uncertainty weights move"
    for task in TASKS:
        assert steps[-1][f"train/weight/{task}"] == summary["metrics"][f"train/weight/{task}"]
    assert any(m.glob_name == "*" and m.step_metric == "trainer/global_step" for m in run.metrics)
    # per-task validation metrics every epoch
    validations = [row for row in run.history if "val/loss" in row]
    assert len(validations) == 2
    for row in validations:
        assert {
            "val/left/accuracy",
            "val/left/macro_f1",
            "val/right/accuracy",
            "val/sum/mae",
            "val/sum/rmse",
        } <= set(row)

    # the final summary is summary.json's
    for name, value in summary["metrics"].items():
        assert run.summary[name] == value, name
    assert {"test/left/accuracy", "test/sum/rmse", "test/loss"} <= set(run.summary)
    assert run.summary["status"] == "completed" and run.summary["checkpoint"] == summary["checkpoint"]
    assert {run.summary[f"weights/{t}"] for t in TASKS} == set(summary["weights"].values())
    assert run.summary["optimized_metric/name"] == "val/loss"
    assert run.summary["optimized_metric/value"] == summary["optimized_metric"]["value"]
    assert run.summary["wall_time_s"] == summary["wall_time_s"]
    assert run.summary["train_samples_per_s"] == summary["train_samples_per_s"]

    # the best checkpoint as a model artifact, referenced in the run directory
    (artifact,) = run.artifacts
    assert artifact.type == "model" and artifact.name == f"model-{run.run.run_id}"
    assert set(artifact.aliases) == {"best", "latest"}
    (entry,) = artifact.manifest.contents
    assert entry.path == "model.ckpt" and entry.local_path == summary["checkpoint"]
    assert Path(entry.local_path).is_file() and Path(entry.local_path).name != "last.ckpt"
    assert json.loads(artifact.metadata)["optimized_metric"] == summary["optimized_metric"]


def test_a_diverged_run_ends_its_wandb_run_as_failed_without_a_checkpoint_artifact(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config(
        "logger=wandb",
        "weighting.name=plugins:NaNAfter",
        "~weighting.weights",
        "+weighting.after=5",
        *SMALL_CNN,
    )
    with pytest.raises(DivergenceError):
        run_experiment(cfg)
    run = the_run(Path(cfg.paths.output_dir))
    assert wandb.run is None and run.exit_code == 1
    assert run.summary["status"] == "diverged" and run.summary["diverged_at_step"] == 5
    assert run.summary["error"].startswith("training diverged at step 5")
    assert run.artifacts == []
    assert "weighting:plugins:NaNAfter" in run.run.tags


def test_logger_many_writes_csv_tensorboard_and_wandb_with_the_resolved_config(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config(
        "logger=many", "logger.wandb.log_model=false", LOG_EVERY_STEP, "trainer.max_epochs=1", *SMALL_CNN
    )
    run_experiment(cfg)
    run_dir = Path(cfg.paths.output_dir)
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {f"train/weight/{t}" for t in TASKS} <= set(header)
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    for directory in ("csv", "tensorboard"):
        hparams = yaml.safe_load((run_dir / directory / "hparams.yaml").read_text())
        assert hparams["weighting"]["name"] == "fixed" and hparams["paths"]["output_dir"] == str(run_dir)
    run = the_run(run_dir)
    assert run.exit_code == 0 and run.summary["status"] == "completed" and run.artifacts == []
    assert run.config["logger"]["csv"]["save_dir"] == str(run_dir)
    assert len([row for row in run.history if "train/weight/left" in row]) == STEPS // 2


def test_summary_fields_are_flat_w_and_b_keys() -> None:
    summary = {
        "status": "diverged",
        "tasks": {"a": {"kind": "regression"}},
        "metrics": {"val/a/mae": 0.5, "val/loss": None},
        "weights": {"a": 1.0},
        "optimized_metric": {"name": "val/loss", "value": None},
        "checkpoint": None,
        "diverged_at_step": 3,
    }
    assert summary_fields(summary) == {
        "status": "diverged",
        "tasks/a/kind": "regression",
        "val/a/mae": 0.5,
        "weights/a": 1.0,
        "optimized_metric/name": "val/loss",
        "diverged_at_step": 3,
    }


def test_tags_longer_than_w_and_b_allows_are_a_config_error_and_automatic_ones_are_cut(
    tmp_path: Path,
) -> None:
    with pytest.raises(
        ConfigError, match=r"^logger.wandb.tags: tag 'x{65}' has 65 characters; W&B tags have 1 to 64$"
    ):
        WandbRunLogger(save_dir=str(tmp_path), tags=["x" * 65])
    logger = WandbRunLogger(save_dir=str(tmp_path), tags=["a"], auto_tags=["a", "weighting:" + "w" * 80])
    assert logger._wandb_init["tags"] == ["a", "weighting:" + "w" * 54]


def test_ranks_other_than_zero_never_touch_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logger = WandbRunLogger(save_dir=str(tmp_path))
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    assert isinstance(logger.experiment, DummyExperiment)
    logger.log_hyperparams({"seed": 0})
    logger.log_metrics({"train/loss": 1.0}, step=0)
    logger.finish_run({"status": "completed"})
    assert logger._experiment is None and wandb.run is None and not (tmp_path / "wandb").exists()


def test_an_online_start_that_fails_falls_back_to_offline_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_init, modes = wandb.init, []

    def init(**kwargs: object) -> object:
        modes.append(kwargs["mode"])
        if kwargs["mode"] == "online":  # what wandb raises when the server refuses the run
            raise wandb.errors.CommError("server said no")
        return real_init(**kwargs)

    monkeypatch.setattr(wandb, "init", init)
    monkeypatch.setattr(wandb_run, "choose_mode", lambda offline: ModeChoice("online"))
    logger = WandbRunLogger(save_dir=str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="mtl_lab"):
        sync_dir = logger.experiment.settings.sync_dir
    logger.finish_run({"status": "completed"})
    assert modes == ["online", "offline"]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "W&B: the online run did not start (CommError: server said no); "
        f"logging offline to {sync_dir}; upload later: wandb sync {sync_dir}"
    ]
    assert the_run(tmp_path).directory == Path(sync_dir) and the_run(tmp_path).exit_code == 0


def test_wandb_mode_disabled_records_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "disabled")
    logger = WandbRunLogger(save_dir=str(tmp_path))
    logger.log_hyperparams({"seed": 0})
    logger.log_metrics({"train/loss": 1.0}, step=0)
    logger.finish_run({"status": "completed", "metrics": {"train/loss": 1.0}})
    assert logger.mode == ModeChoice("disabled") and wandb.run is None
    assert not (tmp_path / "wandb").exists()


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_multirun_jobs_are_separate_wandb_runs_grouped_by_sweep_directory(tmp_path: Path) -> None:
    args = ["-m", "weighting=fixed,uncertainty", "logger=wandb", *FAST, *SMALL_CNN, *ONE_SHORT_EPOCH]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = sorted((tmp_path / "outputs" / "multirun").glob("*/*/[01]"))
    assert [job.name for job in jobs] == ["0", "1"]
    runs = [the_run(job) for job in jobs]
    sweep_dir = str(jobs[0].parent.relative_to(tmp_path))
    assert [run.run.run_group for run in runs] == [sweep_dir, sweep_dir]
    assert runs[0].run.run_id != runs[1].run.run_id
    assert [run.config["weighting"]["name"] for run in runs] == ["fixed", "uncertainty"]
    assert [run.run.display_name.split(":")[0] for run in runs] == ["0", "1"]
    assert all("weighting=" in run.run.display_name for run in runs)
    assert all(run.exit_code == 0 and run.summary["status"] == "completed" for run in runs)


def test_without_login_or_network_a_run_falls_back_to_offline_with_one_warning_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(variable, raising=False)
    run_dir = tmp_path / "run"
    args = ["logger=wandb", *FAST, *SMALL_CNN, *ONE_SHORT_EPOCH, f"hydra.run.dir={run_dir}"]
    started = time.perf_counter()
    result = run_cli(
        args, cwd=tmp_path, timeout=120, WANDB_BASE_URL="http://127.0.0.1:9", NETRC=str(tmp_path / "no_netrc")
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.perf_counter() - started < 120
    output = (result.stdout + result.stderr).splitlines()
    warnings = [
        line
        for line in output
        if re.search("warn", line, re.IGNORECASE) and re.search("w&b|wandb", line, re.I)
    ]
    assert len(warnings) == 1, warnings
    (sync_dir,) = (run_dir / "wandb").glob("offline-run-*")
    assert warnings[0].endswith(
        "W&B: no API key for http://127.0.0.1:9 (set WANDB_API_KEY or run `wandb login`); "
        f"logging offline to {sync_dir}; upload later: wandb sync {sync_dir}"
    )
    run = the_run(run_dir)
    assert run.exit_code == 0 and run.summary["status"] == "completed" and len(run.artifacts) == 1
    assert run.run.run_group == "" and "logger=wandb" in run.run.display_name
