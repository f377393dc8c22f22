"""``mtl-train`` / ``python -m mtl_lab.train``: compose, train, test, summarize one experiment.

Returns the optimized metric (for Hydra sweepers). Configuration and data errors, and a diverged
run, end the process with one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import warnings

import hydra
from omegaconf import DictConfig
from pytorch_lightning.utilities import rank_zero_only

from mtl_lab.config import config_dir
from mtl_lab.errors import MtlLabError
from mtl_lab.experiment import run_experiment
from mtl_lab.summary import SUMMARY_FILE, format_results_table

# Lightning 2.6 with torch 2.13 warns about its own pytree internals on every run; nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def main(cfg: DictConfig) -> float | None:
    try:
        summary = run_experiment(cfg)
    except MtlLabError as err:
        raise SystemExit(f"mtl-train: error: {err}") from None
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
