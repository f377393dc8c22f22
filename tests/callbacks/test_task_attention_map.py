"""TaskAttentionMap: sample-weighted means over a validation epoch, the logged names, the heatmap, the
summary field, and a real run of the task_attention architecture."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from omegaconf import DictConfig

from mtl_lab.callbacks.task_attention import TaskAttentionMap
from mtl_lab.experiment import run_experiment
from mtl_lab.names import parse_task_metric

TASKS = ["a", "b", "c"]


class RecordingLogger:
    def __init__(self) -> None:
        self.logged: list[tuple[dict[str, float], int]] = []

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.logged.append((metrics, step))


def stochastic(seed: int) -> torch.Tensor:
    """A [3, 3] matrix whose rows sum to 1, like a softmax over keys."""
    return torch.randn(3, 3, generator=torch.Generator().manual_seed(seed)).softmax(dim=1)


def trainer(root: Path, logger: RecordingLogger, sanity_checking: bool = False) -> Any:
    return SimpleNamespace(
        sanity_checking=sanity_checking,
        world_size=1,
        loggers=[logger],
        global_step=7,
        current_epoch=1,
        is_global_zero=True,
        default_root_dir=str(root),
    )


def validate(
    callback: TaskAttentionMap, source: Any, run: Any, batches: list[tuple[torch.Tensor, int]]
) -> None:
    module: Any = SimpleNamespace(device=torch.device("cpu"))
    callback.on_validation_epoch_start(run, module)
    for index, (attention, samples) in enumerate(batches):
        source.latest_attention, source.latest_samples = attention, samples  # what a forward leaves
        callback.on_validation_batch_end(run, module, None, None, index)
    callback.on_validation_epoch_end(run, module)


def test_an_epoch_gives_the_sample_weighted_mean_logged_per_query_and_key(tmp_path: Path) -> None:
    source = SimpleNamespace(tasks=TASKS, latest_attention=None, latest_samples=0)
    callback, logger = TaskAttentionMap(source), RecordingLogger()  # type: ignore[arg-type]
    validate(callback, source, trainer(tmp_path, logger, sanity_checking=True), [(stochastic(9), 4)])
    assert callback.matrix is None and not logger.logged  # sanity checks are not measured

    validate(callback, source, trainer(tmp_path, logger), [(stochastic(1), 2), (stochastic(2), 6)])
    expected = (2 * stochastic(1).double() + 6 * stochastic(2).double()) / 8
    assert callback.matrix is not None and torch.allclose(callback.matrix, expected)
    assert torch.allclose(callback.matrix.sum(dim=1), torch.ones(3, dtype=torch.float64))
    ((values, step),) = logger.logged
    assert step == 7 and list(values) == [f"task_attention/{q}/{k}" for q in TASKS for k in TASKS]
    assert values["task_attention/b/c"] == float(expected[1, 2])
    assert all(parse_task_metric(name) is None for name in values)  # no clash with <split>/<task>/<metric>

    validate(callback, source, trainer(tmp_path, logger), [(stochastic(3), 5)])  # a new epoch starts afresh
    assert torch.allclose(callback.matrix, stochastic(3).double())


def test_the_heatmap_and_the_summary_field_show_the_last_epoch(tmp_path: Path) -> None:
    source = SimpleNamespace(tasks=TASKS, latest_attention=None, latest_samples=0)
    callback, logger = TaskAttentionMap(source), RecordingLogger()  # type: ignore[arg-type]
    assert callback.summary_fields() == {}
    run = trainer(tmp_path, logger)
    validate(callback, source, run, [(stochastic(4), 3)])
    callback.on_fit_end(run, None)  # type: ignore[arg-type]
    png = tmp_path / "task_attention.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    field = callback.summary_fields()["task_attention"]
    assert list(field) == TASKS and all(list(row) == TASKS for row in field.values())
    assert field["c"]["a"] == float(stochastic(4)[2, 0].double())


def test_a_run_logs_the_map_and_writes_the_heatmap_and_the_summary_field(
    make_config: Callable[..., DictConfig],
) -> None:
    cfg = make_config("architecture=task_attention", "encoder.channels=[4]", "encoder.out_dim=8")
    run_experiment(cfg)
    run_dir = Path(cfg.paths.output_dir)
    field = json.loads((run_dir / "summary.json").read_text())["task_attention"]
    assert list(field) == ["left", "right", "sum"]
    for row in field.values():
        assert list(row) == ["left", "right", "sum"] and abs(sum(row.values()) - 1.0) < 1e-6
    assert (run_dir / "task_attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(run_dir / "csv" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("task_attention/left/sum")]
    assert len(rows) == 2  # one per validation epoch
    assert float(rows[-1]["task_attention/sum/right"]) == field["sum"]["right"]
