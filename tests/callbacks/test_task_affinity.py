"""TaskAffinity: cosine matrix against per-task gradients, a real run's outputs, and no effect on training."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from conftest import FAST, REPO, SMALL_CNN, run_cli
from omegaconf import DictConfig
from pytorch_lightning.callbacks import Callback

from mtl_lab.callbacks import TaskAffinity
from mtl_lab.callbacks.task_affinity import cosine_matrix
from mtl_lab.errors import ConfigError
from mtl_lab.experiment import build_datamodule, build_experiment, build_module, run_experiment
from mtl_lab.gradients import GRAD_LEVELS, level_inputs

TASKS = ["left", "right", "sum"]
PAIRS = ["train/affinity/left/right", "train/affinity/left/sum", "train/affinity/right/sum"]


@pytest.mark.parametrize("level", GRAD_LEVELS)
def test_cosines_match_per_task_gradients_computed_by_hand(
    level: str, make_config: Callable[..., DictConfig]
) -> None:
    cfg = make_config(*SMALL_CNN)
    datamodule = build_datamodule(cfg)
    datamodule.setup("fit")
    module = build_module(cfg, datamodule)
    batch = next(iter(datamodule.train_dataloader()))
    callback = TaskAffinity(every_n_steps=1, grad_level=level)
    callback.on_fit_start(SimpleNamespace(), module)  # type: ignore[arg-type]
    module.training_step(batch, 0)  # outside a Trainer: keeps current_step, self.log() is a no-op
    callback.on_before_backward(SimpleNamespace(global_step=0, loggers=[]), module, torch.zeros(()))  # type: ignore[arg-type]

    step = module.current_step
    inputs, _ = level_inputs(module.model.architecture, step.output, level)
    grads = [
        torch.cat(
            [g.reshape(-1) for g in torch.autograd.grad(step.losses.values[k], inputs, retain_graph=True)]
        )
        for k in range(3)
    ]
    expected = torch.tensor(
        [[float(torch.nn.functional.cosine_similarity(a, b, dim=0)) for b in grads] for a in grads],
        dtype=torch.float64,
    )
    measured = callback.mean
    assert callback.steps == 1 and measured.shape == (3, 3)
    assert torch.allclose(measured, expected, atol=1e-5)
    assert torch.equal(measured, measured.T) and torch.allclose(
        measured.diagonal(), torch.ones(3, dtype=torch.float64)
    )
    assert measured.abs().max() <= 1.0
    assert all(p.grad is None for p in module.parameters()), "the measurement never touches .grad"


def test_cosine_matrix_is_zero_where_a_gradient_is_zero() -> None:
    g = torch.tensor([[1.0, 2.0, 0.0], [-3.0, 0.5, 0.0], [0.0, 0.0, 0.0]])  # the third task has no gradient
    cosines = cosine_matrix(g @ g.T)
    expected = float(torch.nn.functional.cosine_similarity(g[0], g[1], dim=0))  # -0.18...
    assert torch.allclose(cosines[0, 1], torch.tensor(expected)) and torch.allclose(
        cosines[1, 0], torch.tensor(expected)
    )
    assert cosines[2].eq(0).all() and cosines[:, 2].eq(0).all()
    assert cosines[0, 0] == 1 and cosines[1, 1] == 1


def test_run_logs_every_n_steps_and_writes_the_heatmap_and_the_summary_field(
    make_config: Callable[..., DictConfig],
) -> None:
    # 256 samples / 64 per batch, 2 epochs: steps 0..7, measured at 0, 3 and 6
    cfg = make_config(
        *SMALL_CNN, "callbacks=[default,task_affinity]", "callbacks.task_affinity.every_n_steps=3"
    )
    assert {"model_checkpoint", "early_stopping", "lr_monitor", "task_affinity"} <= set(cfg.callbacks)
    run_experiment(cfg)
    run_dir = Path(cfg.paths.output_dir)

    with open(run_dir / "csv" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get(PAIRS[0])]
    assert [int(r["step"]) for r in rows] == [0, 3, 6]
    assert not any(name.startswith("train/affinity/") and name not in PAIRS for name in rows[0])
    logged = torch.tensor([[float(r[p]) for p in PAIRS] for r in rows], dtype=torch.float64)
    assert logged.abs().max() <= 1.0

    field = json.loads((run_dir / "summary.json").read_text())["task_affinity"]
    assert field["tasks"] == TASKS and field["steps"] == 3 and field["grad_level"] == "last_shared_layer"
    matrix = torch.tensor(field["matrix"], dtype=torch.float64)
    assert torch.allclose(matrix, matrix.T) and torch.allclose(
        matrix.diagonal(), torch.ones(3, dtype=torch.float64)
    )
    means = logged.mean(dim=0)
    assert torch.allclose(torch.stack([matrix[0, 1], matrix[0, 2], matrix[1, 2]]), means, atol=1e-6)

    png = run_dir / "task_affinity.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_measuring_does_not_change_training(make_config: Callable[..., DictConfig]) -> None:
    # dropout draws random numbers every step: a measurement that used the RNG would change the result
    def train(*callbacks: str) -> dict[str, torch.Tensor]:
        cfg = make_config(*SMALL_CNN, "encoder.dropout=0.3", "weighting=gradnorm", *callbacks, fast=True)
        pl.seed_everything(0, workers=True, verbose=False)
        experiment = build_experiment(cfg)
        experiment.trainer.fit(experiment.module, datamodule=experiment.datamodule)
        return experiment.module.state_dict()

    plain = train()
    measured = train(
        "+callbacks.task_affinity._target_=mtl_lab.callbacks.TaskAffinity",
        "+callbacks.task_affinity.every_n_steps=1",
    )
    assert plain.keys() == measured.keys()
    assert all(torch.equal(plain[k], measured[k]) for k in plain)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every_n_steps": 0}, "task_affinity.every_n_steps: must be an integer >= 1, got 0"),
        ({"grad_level": "layer"}, "task_affinity.grad_level: unknown gradient level 'layer'"),
    ],
)
def test_bad_settings_fail_with_one_line(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TaskAffinity(**kwargs)


class AffinityRankCheck(Callback):
    """Loaded by the DDP run below: gathers every rank's mean affinity matrix into one JSON file."""

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        affinity = next(c for c in trainer.callbacks if isinstance(c, TaskAffinity))
        gathered = pl_module.all_gather(affinity.mean.float())  # [world, K, K]
        steps = pl_module.all_gather(torch.tensor(float(affinity.steps)))
        if trainer.is_global_zero:
            report: dict[str, Any] = {
                "world_size": trainer.world_size,
                "steps": steps.tolist(),
                "max_diff": float((gathered - gathered[0]).abs().max()),
            }
            Path(trainer.default_root_dir, "affinity_check.json").write_text(json.dumps(report))


@pytest.mark.slow
def test_ddp_ranks_measure_the_same_steps_and_keep_the_same_matrix(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = [
        *FAST,
        *SMALL_CNN,
        "trainer=ddp_cpu",
        "callbacks=[default,task_affinity]",
        "callbacks.task_affinity.every_n_steps=1",
        "+callbacks.affinity_check._target_=test_task_affinity.AffinityRankCheck",
        "test=false",
        f"hydra.run.dir={run_dir}",
    ]
    path = f"{REPO / 'tests'}:{REPO / 'tests' / 'callbacks'}"
    result = run_cli(args, cwd=tmp_path, PYTHONPATH=path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run_dir / "affinity_check.json").read_text())
    # 256 samples / (64 x 2 ranks) x 2 epochs = 4 steps, each measured on both ranks
    assert report["world_size"] == 2 and report["steps"] == [4.0, 4.0] and report["max_diff"] == 0.0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["task_affinity"]["steps"] == 4 and (run_dir / "task_affinity.png").is_file()
