"""``mtl-train`` / ``python -m mtl_lab.train``: compose, train, test, summarize one experiment.

Returns the optimized metric (for Hydra sweepers). In a single run, configuration and data errors
and a diverged run end the process with one line on stderr and a non-zero exit. In a multirun job
(``mtl-train -m ...``) they, and any other exception, fail only that job: it is logged, its
``summary.json`` says ``failed``/``diverged``, the job returns ``None`` (an Optuna trial without a
value is a failed trial) and the sweep goes on; ``sweep_summary.json`` and the multirun's exit
status report it (:mod:`mtl_lab.sweeps.summary`).

``mtl-train resume=<run dir> [overrides]`` continues a run in its directory: before Hydra starts, the
command line becomes the run's own (:mod:`mtl_lab.lifecycle.resume_command`). A multirun run again
into its sweep directory reports its completed jobs without training them and resumes the interrupted
ones from their ``last.ckpt`` in place (:mod:`mtl_lab.sweeps.rerun`).
"""

from __future__ import annotations

import gc
import logging
import sys
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict
from pytorch_lightning.utilities import rank_zero_only

from mtl_lab.config import config_dir
from mtl_lab.ddp import ddp_job
from mtl_lab.errors import MtlLabError
from mtl_lab.experiment import run_experiment
from mtl_lab.lifecycle import resume_argv
from mtl_lab.lifecycle.resume_command import RESUME_KEY, quoted
from mtl_lab.summary import SUMMARY_FILE, format_results_table
from mtl_lab.sweeps import rerun_job

# Lightning 2.6 with torch 2.13 warns about its own pytree internals on every run; nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")

log = logging.getLogger(__name__)


def in_multirun_job() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def train(cfg: DictConfig) -> float | None:
    """One run or multirun job: train, test, summarize; returns the optimized metric."""
    rank_overrides: list[str] = []
    if in_multirun_job():
        job, job_dir = HydraConfig.get().job.num, Path(str(cfg.paths.output_dir))
        completed, checkpoint = rerun_job(job_dir)
        if completed is not None:
            log.info("job %s: completed in an earlier run of this sweep; not run again", job)
            return completed["optimized_metric"].get("value")
        if checkpoint is not None:
            log.info("job %s: resuming from %s", job, checkpoint)
            with open_dict(cfg):
                cfg[RESUME_KEY] = str(job_dir)
            rank_overrides = [f"{RESUME_KEY}={quoted(str(job_dir))}"]
    try:
        with ddp_job(rank_overrides):
            summary = run_experiment(cfg)
    except MtlLabError as err:
        if not in_multirun_job():
            raise SystemExit(f"mtl-train: error: {err}") from None
        log.error("mtl-train: error: job %s: %s", HydraConfig.get().job.num, err)
        return None
    except Exception:
        if not in_multirun_job():
            raise
        log.exception("mtl-train: error: job %s failed", HydraConfig.get().job.num)
        return None
    if rank_zero_only.rank == 0:
        data = summary.to_json()
        print(f"\nTest results ({data['checkpoint'] or 'final weights'}):")
        print(format_results_table(data))
        optimized = data["optimized_metric"]
        print(f"optimized metric {optimized['name']} = {optimized['value']}")
        print(f"summary: {cfg.paths.output_dir}/{SUMMARY_FILE}")
    return summary.optimized_metric.get("value")


def main() -> None:
    """``mtl-train``: turn ``resume=<run dir>`` into the run's command line, then compose and run."""
    try:
        sys.argv = resume_argv(sys.argv)
    except MtlLabError as err:
        raise SystemExit(f"mtl-train: error: {err}") from None
    gc.freeze()  # imports done: their objects are never walked again (~4 s less at exit; forks share them)
    train()


if __name__ == "__main__":
    main()
