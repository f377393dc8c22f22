"""``mtl-train`` / ``python -m mtl_lab.train``: compose, train, test, summarize one experiment.

Returns the optimized metric (for Hydra sweepers). In a single run, configuration and data errors
and a diverged run end the process with one line on stderr and a non-zero exit. In a multirun job
(``mtl-train -m ...``) they, and any other exception, fail only that job: it is logged, its
``summary.json`` says ``failed``/``diverged``, the job returns ``None`` (an Optuna trial without a
value is a failed trial) and the sweep goes on; ``sweep_summary.json`` and the multirun's exit
status report it (:mod:`mtl_lab.sweeps.summary`).
"""

from __future__ import annotations

import logging
import warnings

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from mtl_lab.config import config_dir
from mtl_lab.ddp import ddp_job
from mtl_lab.errors import MtlLabError
from mtl_lab.experiment import run_experiment
from mtl_lab.summary import SUMMARY_FILE, format_results_table

# Lightning 2.6 with torch 2.13 warns about its own pytree internals on every run; nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")

log = logging.getLogger(__name__)


def in_multirun_job() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        with ddp_job():
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


if __name__ == "__main__":
    main()
