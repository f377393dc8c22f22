"""Multirun support: the sweep-level summary (a Hydra callback), re-running a sweep in its directory
(skip completed jobs, resume interrupted ones) and the resumable Optuna search."""

from mtl_lab.sweeps.rerun import SweepRerun, rerun_job
from mtl_lab.sweeps.summary import SWEEP_SUMMARY_FILE, SweepSummary, collect_jobs, write_sweep_summary

__all__ = [
    "SWEEP_SUMMARY_FILE",
    "SweepRerun",
    "SweepSummary",
    "collect_jobs",
    "rerun_job",
    "write_sweep_summary",
]
