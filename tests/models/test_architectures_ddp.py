"""Every architecture under DDP (2 CPU processes over gloo, through the CLI, one multirun job per
architecture) with UPGrad's representation-level Gramian all-reduced: parameters identical on both ranks
after every step. ``slow`` (about 10 s a job): the default suite's DDP runs of ``shared`` (tests/test_ddp.py,
tests/test_cli.py) go through the same collectives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FAST, SMALL_CNN, run_cli

from mtl_lab.models.architectures import ARCHITECTURES

ALL = [name for name in ARCHITECTURES.names() if name != "shared"]  # shared: tests/test_ddp.py


@pytest.mark.slow
def test_parameters_stay_identical_on_both_ranks(tmp_path: Path) -> None:
    architectures = ALL
    args = [
        "-m",
        f"architecture={','.join(architectures)}",
        "weighting=upgrad",
        "trainer=ddp_cpu",
        *FAST,
        *SMALL_CNN,
        "trainer.max_epochs=1",
        "+callbacks.rank_check._target_=plugins.RankConsistencyCheck",
    ]
    result = run_cli(args, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep_dir,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    for num, architecture in enumerate(architectures):
        job_dir = sweep_dir / str(num)
        assert json.loads((job_dir / "summary.json").read_text())["status"] == "completed", architecture
        assert f"name: {architecture}" in (job_dir / ".hydra" / "config.yaml").read_text()
        report = json.loads((job_dir / "rank_check.json").read_text())
        assert report["world_size"] == 2 and report["checks"] == 2, architecture
        assert report["max_param_diff"] == 0.0, architecture
