"""A grid sweep killed halfway and run again finishes with the remaining work only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FAST, SMALL_CNN, run_cli

from mtl_lab.sweeps import SWEEP_SUMMARY_FILE, rerun_job


def test_rerun_job_tells_completed_resumable_and_fresh_job_dirs_apart(tmp_path: Path) -> None:
    assert rerun_job(tmp_path) == (None, None)
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    checkpoint.parent.mkdir()
    checkpoint.touch()
    (tmp_path / "summary.json").write_text(json.dumps({"status": "diverged"}))
    assert rerun_job(tmp_path) == (None, checkpoint)
    (tmp_path / "summary.json").write_text(json.dumps({"status": "completed"}))
    assert rerun_job(tmp_path) == ({"status": "completed"}, None)


@pytest.mark.slow  # a multi-process or multi-run check (10-30 s): make test-slow
def test_a_killed_grid_sweep_run_again_skips_completed_jobs_and_resumes_the_killed_one(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep"
    kill = [  # SIGKILL the sweep as job 1's 3rd step (of 4) starts (its last.ckpt: step 2), once
        "+callbacks.kill._target_=plugins.SigkillAt",
        "+callbacks.kill.step=2",
        "+callbacks.kill.job=1",
        f"+callbacks.kill.once={tmp_path / 'killed'}",
    ]
    args = [
        "-m",
        "seed=0,1,2",
        *FAST,
        *SMALL_CNN,
        "checkpoint_every_n_steps=1",
        *kill,
        f"hydra.sweep.dir={sweep}",
    ]
    first = run_cli(args, cwd=tmp_path)
    assert first.returncode == -9, first.stderr[-3000:]
    assert json.loads((sweep / "0" / "summary.json").read_text())["status"] == "completed"
    assert not (sweep / "1" / "summary.json").exists() and not (sweep / "2").exists()
    job0 = (sweep / "0" / "summary.json").stat().st_mtime_ns

    second = run_cli(args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert (sweep / "0" / "summary.json").stat().st_mtime_ns == job0, "job 0 was not run again"
    assert (
        "job 0: completed in an earlier run of this sweep; not run again"
        in (sweep / "0" / "train.log").read_text()
    )
    summaries = [json.loads((sweep / str(n) / "summary.json").read_text()) for n in range(3)]
    assert summaries[1]["resumed_from"]["step"] == 2
    assert "resumed_from" not in summaries[0] and "resumed_from" not in summaries[2]
    record = json.loads((sweep / SWEEP_SUMMARY_FILE).read_text())
    assert record["finished"] and record["counts"] == {"completed": 3, "failed": 0, "diverged": 0}
    assert [job["optimized_metric"] for job in record["jobs"]] == [s["optimized_metric"] for s in summaries]

    other = run_cli(["-m", "seed=0,1", *FAST, *SMALL_CNN, f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert other.returncode == 1
    assert (
        other.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"mtl-train: error: hydra.sweep.dir: {sweep} holds a sweep of other overrides (seed=0,1,2 "
        )
    )
    assert json.loads((sweep / SWEEP_SUMMARY_FILE).read_text()) == record, "nothing was touched"
