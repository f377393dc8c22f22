"""data=per_task under DDP (2 CPU processes over gloo, through the CLI), each rank reading its share of every
source: parameters stay identical on both ranks after every step, and in sample mode both ranks train the
same task at every step (the draws of the epoch).

The cycle run is ``slow``: it goes through the same collectives as the sample run (the labelled counts'
all-reduce, the gradient all-reduce, the evaluation metrics' sync) and the same sharded loaders
(``shard_loader``); what it adds, concatenated batches, is covered in-process (tests/data/test_per_task.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from mtl_lab.data.task_sampling import draw_sources

ARGS = [
    "experiment=iris_two_tasks",
    "trainer=ddp_cpu",
    "trainer.max_epochs=2",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "~callbacks.rich_progress_bar",
    "+callbacks.rank_check._target_=plugins.RankConsistencyCheck",
    "+callbacks.tasks._target_=label_plugins.LabelledTasksRecorder",
]
# 45 training rows per source, 23 per rank (padded), batches of 16: 2 batches per source and rank
BATCHES_PER_SOURCE = 2
EPOCHS = 2


def train_on_two_ranks(mode: str, tmp_path: Path) -> dict[str, Any]:
    """Run ``mode`` under DDP; check what both modes share; return the labelled-tasks report."""
    result = run_cli([*ARGS, f"data.mode={mode}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (summary_file,) = (tmp_path / "outputs" / "runs").glob("*/*/summary.json")
    run_dir = summary_file.parent
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "completed"
    assert summary["tasks"]["species"]["labelled"]["train"] == 45
    assert {"test/species/accuracy", "test/petal_width/mae"} <= set(summary["metrics"])
    steps = EPOCHS * BATCHES_PER_SOURCE * (2 if mode == "sample" else 1)
    rank_check = json.loads((run_dir / "rank_check.json").read_text())
    assert rank_check["world_size"] == 2 and rank_check["checks"] == steps
    assert rank_check["max_param_diff"] == 0.0, "parameters identical on both ranks after every step"
    report = json.loads((run_dir / "labelled_tasks.json").read_text())
    assert report["world_size"] == 2 and report["task_names"] == ["species", "petal_width"]
    assert len(report["steps"]) == steps
    assert all(step[0] == step[1] for step in report["steps"]), "both ranks label the same tasks"
    return report


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_sample_mode_trains_the_same_drawn_task_on_every_rank(tmp_path: Path) -> None:
    report = train_on_two_ranks("sample", tmp_path)
    names = report["task_names"]
    # the epoch's draws: seed 0, equal source sizes -> p = 1/2, sharded lengths (2 batches per source)
    expected = [
        [names[i] == name for name in names]
        for epoch in range(EPOCHS)
        for i in draw_sources([0.5, 0.5], 2 * BATCHES_PER_SOURCE, seed=0, epoch=epoch)
    ]
    assert [step[0] for step in report["steps"]] == expected
    assert {tuple(step[0]) for step in report["steps"]} == {(True, False), (False, True)}


@pytest.mark.slow  # same collectives and sharded loaders as the sample run; concatenation is tested in-process
def test_cycle_mode_trains_every_task_at_every_step_on_every_rank(tmp_path: Path) -> None:
    report = train_on_two_ranks("cycle", tmp_path)
    assert all(step[0] == [True, True] for step in report["steps"])
