"""Multirun support: the sweep-level summary (a Hydra callback) and the resumable Optuna search."""

from mtl_lab.sweeps.summary import SWEEP_SUMMARY_FILE, SweepSummary, collect_jobs, write_sweep_summary

__all__ = ["SWEEP_SUMMARY_FILE", "SweepSummary", "collect_jobs", "write_sweep_summary"]
