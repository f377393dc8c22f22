"""The loss-adaptive strategies under DDP on 2 CPU processes: their state and coefficients stay
identical on every rank. One run covers all of them side by side (``plugins:SideBySide``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import FAST, SMALL_CNN, run_cli

MEMBERS = ["dwa", "rlw", "famo", "dbmtl", "scale_invariant"]


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_loss_adaptive_state_is_identical_on_two_ddp_ranks(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = [
        *FAST,
        *SMALL_CNN,
        "trainer=ddp_cpu",
        "trainer.max_epochs=3",  # DWA leaves its equal weights after two epochs
        "weighting.name=plugins:SideBySide",
        "~weighting.weights",
        f"+weighting.members=[{','.join(MEMBERS)}]",
        "+weighting.grad_level=params",
        "+callbacks.rank_check._target_=plugins.RankConsistencyCheck",
        f"hydra.run.dir={run_dir}",
    ]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run_dir / "rank_check.json").read_text())
    assert report["world_size"] == 2 and report["checks"] == 6  # 256 samples / (64 x 2 ranks) x 3 epochs
    # every member's buffers (loss histories, EMAs, logits, Adam moments, step counters) and coefficients
    assert report["max_weighting_diff"] == 0.0 and report["max_param_diff"] == 0.0
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    member = {name: f"weighting.members.{i}." for i, name in enumerate(MEMBERS)}
    dwa_weights = state[member["dwa"] + "weights"]
    assert state[member["dwa"] + "completed_epochs"].tolist() == [3] * 3 and not torch.equal(
        dwa_weights, torch.ones(3)
    )
    assert float(dwa_weights.sum()) == pytest.approx(3.0)
    assert int(state[member["rlw"] + "steps"]) == 6
    assert (
        state[member["famo"] + "adam_steps"].tolist() == [5] * 3
        and state[member["famo"] + "logits"].abs().sum() > 0
    )
    assert (
        state[member["dbmtl"] + "steps"].tolist() == [6] * 3
        and (state[member["dbmtl"] + "norm_ema"] > 0).all()
    )
