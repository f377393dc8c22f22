"""Small run directories written by tests: the files mtl-report reads, with chosen values."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from omegaconf import OmegaConf

KINDS = {"left": "classification", "right": "classification", "sum": "regression"}


def write_fake_run(
    run_dir: Path,
    metrics: Mapping[str, float | None],
    overrides: Sequence[str] = (),
    status: str = "completed",
    data: Mapping[str, object] | None = None,
    weights_csv: Mapping[str, Sequence[float]] | None = None,
) -> Path:
    """A run directory: summary.json (tasks from the metric names), .hydra/{config,overrides}.yaml and,
    with ``weights_csv``, csv/metrics.csv holding ``train/weight/<task>`` per step.

    The config holds the overrides as Hydra would (``seed=2`` -> ``seed: 2``, ``weighting=gradnorm`` ->
    ``weighting: gradnorm``; ``hydra``/``paths`` ones left out), and the summary its seed."""
    tasks = list(dict.fromkeys(name.split("/")[1] for name in metrics if name.count("/") == 2))
    config = OmegaConf.create(
        {
            "seed": 0,
            "tasks": None,
            "data": dict(data or {"name": "multi_digits", "seed": "${seed}", "train_size": 256}),
            "paths": {"output_dir": "${hydra:runtime.output_dir}"},
        }
    )
    chosen = [o.lstrip("+") for o in overrides if not o.lstrip("+").startswith(("hydra", "paths"))]
    config = OmegaConf.merge(config, OmegaConf.from_dotlist(chosen))
    summary = {
        "status": status,
        "tasks": {t: {"kind": KINDS.get(t, "regression"), "num_outputs": 1, "loss": "mse"} for t in tasks},
        "metrics": dict(metrics),
        "weights": {t: 1.0 for t in tasks},
        "optimized_metric": {"name": "val/loss", "value": None},
        "checkpoint": None,
        "seed": config.seed,
    }
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps(summary))
    OmegaConf.save(OmegaConf.create(list(overrides)), run_dir / ".hydra" / "overrides.yaml")
    OmegaConf.save(config, run_dir / ".hydra" / "config.yaml")
    if weights_csv:
        columns = [f"train/weight/{t}" for t in weights_csv]
        lines = ["epoch,step," + ",".join(columns) + ",val/loss"]
        steps = len(next(iter(weights_csv.values())))
        for step in range(steps):
            values = ",".join(str(weights_csv[t][step]) for t in weights_csv)
            lines.append(f"0,{step * 10},{values},")
            lines.append(f"0,{step * 10},{',' * (len(columns) - 1)},1.5")  # a validation row: no weights
        (run_dir / "csv").mkdir(exist_ok=True)
        (run_dir / "csv" / "metrics.csv").write_text("\n".join(lines) + "\n")
    return run_dir


def train_tiny_run(run_dir: Path, *overrides: str) -> Path:
    """A real run, trained in-process (FAST, SMALL_CNN), with the .hydra files Hydra would have written:
    the composed config saved unresolved (``paths.output_dir: ${hydra:runtime.output_dir}``) and the
    overrides."""
    from conftest import FAST, SMALL_CNN, compose_config
    from omegaconf import open_dict

    from mtl_lab.experiment import run_experiment

    all_overrides = [*FAST, *SMALL_CNN, *overrides]
    cfg = compose_config(all_overrides, run_dir)
    run_experiment(cfg)
    saved = cfg.copy()
    with open_dict(saved):
        saved.paths.output_dir = "${hydra:runtime.output_dir}"
        saved.paths.log_dir = "outputs"
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(saved, run_dir / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(all_overrides), run_dir / ".hydra" / "overrides.yaml")
    return run_dir


def write_fake_seeds(
    root: Path,
    first_job: int,
    per_seed: Sequence[Mapping[str, float | None]],
    overrides: Sequence[str] = (),
    statuses: Sequence[str] = (),
) -> list[Path]:
    """Multirun jobs ``root/<first_job + i>`` with ``seed=i`` and the i-th metrics (status: the i-th of
    ``statuses``, default completed), otherwise the same overrides: one seed group."""
    return [
        write_fake_run(
            root / str(first_job + i),
            metrics,
            [*overrides, f"seed={i}"],
            status=statuses[i] if i < len(statuses) else "completed",
        )
        for i, metrics in enumerate(per_seed)
    ]
