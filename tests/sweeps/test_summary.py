"""sweep_summary.json: rebuilt from the job directories; at a job's end only what can have changed is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mtl_lab.summary import RunSummary, write_summary
from mtl_lab.sweeps import summary as sweep_summary
from mtl_lab.sweeps.summary import SWEEP_SUMMARY_FILE, write_sweep_summary


def _job(sweep_dir: Path, num: int, status: str | None) -> Path:
    """A job directory as Hydra and mtl-train leave it (no summary.json while it runs)."""
    job_dir = sweep_dir / str(num)
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    (job_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"seed={num}"]))
    if status is not None:
        _finish(job_dir, status, float(num))
    return job_dir


def _finish(job_dir: Path, status: str, value: float) -> None:
    metric = {"name": "val/loss", "value": value}
    write_summary(RunSummary(status=status, tasks={}, optimized_metric=metric), job_dir / "summary.json")


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The job numbers whose directories are read, in order."""
    read: list[int] = []
    record = sweep_summary._job_record

    def counting(job_dir: Path, finished: bool) -> dict:
        read.append(int(job_dir.name))
        return record(job_dir, finished)

    monkeypatch.setattr(sweep_summary, "_job_record", counting)
    return read


def test_the_summary_lists_every_job_by_number_with_its_status(tmp_path: Path) -> None:
    for num, status in [(2, None), (0, "completed"), (1, "diverged")]:
        _job(tmp_path, num, status)
    running = write_sweep_summary(tmp_path, finished=False)
    assert [(j["num"], j["status"], j["overrides"]) for j in running["jobs"]] == [
        (0, "completed", ["seed=0"]),
        (1, "diverged", ["seed=1"]),
        (2, "running", ["seed=2"]),
    ]
    assert running["counts"] == {"completed": 1, "failed": 0, "diverged": 1, "running": 1}
    ended = write_sweep_summary(tmp_path, finished=True)
    assert ended["jobs"][2]["status"] == "failed" and "no summary.json" in ended["jobs"][2]["error"]
    assert json.loads((tmp_path / SWEEP_SUMMARY_FILE).read_text()) == ended


def test_at_a_job_end_only_that_job_and_the_running_ones_are_read(tmp_path: Path, reads: list[int]) -> None:
    for num, status in [(0, "completed"), (1, "failed"), (2, None), (3, None)]:
        _job(tmp_path, num, status)
    write_sweep_summary(tmp_path, finished=False)
    assert sorted(reads) == [0, 1, 2, 3], "a full rebuild reads every job"
    reads.clear()
    _finish(tmp_path / "3", "completed", 0.5)
    data = write_sweep_summary(tmp_path, finished=False, ended_job=tmp_path / "3")
    assert sorted(reads) == [2, 3], "the jobs already ended keep their records"
    assert [j["status"] for j in data["jobs"]] == ["completed", "failed", "running", "completed"]
    assert data["jobs"][3]["optimized_metric"]["value"] == 0.5


def test_a_job_that_ended_before_is_read_again_at_its_own_end(tmp_path: Path, reads: list[int]) -> None:
    """A failed job resumed by a re-run of the sweep: its record changes when it ends again."""
    _job(tmp_path, 0, "completed")
    resumed = _job(tmp_path, 1, "failed")
    write_sweep_summary(tmp_path, finished=False)
    reads.clear()
    _finish(resumed, "completed", 0.25)
    data = write_sweep_summary(tmp_path, finished=False, ended_job=resumed)
    assert reads == [1]
    assert data["jobs"][1]["status"] == "completed" and data["counts"]["failed"] == 0
    assert write_sweep_summary(tmp_path, finished=True) == data | {
        "finished": True,
        "counts": {"completed": 2, "failed": 0, "diverged": 0},
    }
