"""mtl-predict on a large table: its throughput (rows/s) and peak memory, beside the file's size.

A small ``data=table`` run is trained first (``--train-rows`` rows of ``table_data.py``'s 20-column
generator: 12 numeric, 5 categorical columns with 5 to 10,000 values, 3 labels; ``encoder=tabular``,
one epoch). Then, in a fresh subprocess, :func:`mtl_lab.prediction.predict_run` predicts a ``--rows`` x 20
Parquet file of the same generator (another seed) as new data (``data.path=...``: every row; its labels
are scored) into a Parquet file, streamed in batches of ``--batch-size`` rows. Printed: rows per second
of the whole call (loading the run, reading, encoding, the model, writing, metrics), the peak resident
set size (``VmHWM``) and the resident size after the imports, beside the input file's size on disk
and the Arrow size of its columns. Baseline, in the same subprocess: the model's forward alone on
random inputs of the same shapes, in the same batches (rows/s).

    python benchmarks/predict_throughput.py [--rows 1000000] [--train-rows 20000] [--batch-size 1024]
        [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import torch
from omegaconf import OmegaConf, open_dict
from table_data import resident_mb, write_wide_table
from timing import compose_config, quiet_lightning

from mtl_lab.batch import example_inputs
from mtl_lab.evaluation import load_run, load_run_config
from mtl_lab.experiment import run_experiment
from mtl_lab.prediction import predict_run
from mtl_lab.prediction.table_data import prediction_datamodule

TRAIN = [
    "data=table",
    "encoder=tabular",
    "trainer.max_epochs=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "~callbacks.rich_progress_bar",
    "test=false",
]


def _braces(items: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}: {_braces(v) if isinstance(v, dict) else v}" for k, v in items.items()) + "}"


def train_run(directory: Path, rows: int) -> Path:
    """A data=table run on ``rows`` rows of the wide table, saved as mtl-train saves one."""
    data = write_wide_table(directory / "train.parquet", rows, seed=0)
    features = {kind: "[" + ", ".join(columns) + "]" for kind, columns in data["features"].items()}  # type: ignore[union-attr]
    overrides = [
        *TRAIN,
        f"data.path={data['path']}",
        f"data.features={_braces(features)}",
        f"data.tasks={_braces(data['tasks'])}",  # type: ignore[arg-type]
    ]
    run_dir = directory / "run"
    cfg = compose_config(overrides, run_dir)
    run_experiment(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = "${hydra:runtime.output_dir}"
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    return run_dir


def peak_resident_mb() -> float:
    """The process's peak resident set size (Linux ``VmHWM``), in MiB. Not ``ru_maxrss``: after fork and
    exec that also counts the parent's resident size at the fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def measure(arguments_json: str) -> None:
    """(In the subprocess) predict the file, then time the forward alone; print the numbers, JSON."""
    arguments = json.loads(arguments_json)
    quiet_lightning()
    torch.set_num_threads(arguments["threads"])
    before = resident_mb()
    started = time.perf_counter()
    overrides = [f"data.path={arguments['path']}", f"data.eval_batch_size={arguments['batch_size']}"]
    result = predict_run(
        arguments["run"], arguments["output"], ckpt="last", overrides=overrides, overwrite=True
    )
    seconds = time.perf_counter() - started
    peak = peak_resident_mb()
    assert result is not None
    run_dir = Path(arguments["run"])
    run = load_run(run_dir, load_run_config(run_dir), "last", prediction_datamodule)
    model, size = run.module.model.eval(), arguments["batch_size"]
    inputs = example_inputs(run.datamodule.input_specs, size)
    started = time.perf_counter()
    with torch.inference_mode():
        for _ in range(result.rows // size):
            model(inputs)
    forward_s = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": result.rows,
                "seconds": seconds,
                "forward_rows_per_s": size * (result.rows // size) / forward_s,
                "before_mb": before,
                "peak_mb": peak,
                "threads": torch.get_num_threads(),
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the predicted 20-column table")
    parser.add_argument("--train-rows", type=int, default=20_000, help="rows of the training table")
    parser.add_argument("--batch-size", type=int, default=1024, help="rows per batch (data.eval_batch_size)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier numbers)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        measure(args.measure)
        return 0
    quiet_lightning()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        run_dir = train_run(directory, args.train_rows)
        data = write_wide_table(directory / "predict.parquet", args.rows, seed=1)
        path = Path(str(data["path"]))
        columns = [*data["features"]["numeric"], *data["features"]["categorical"], *data["tasks"]]  # type: ignore[index]
        arrow_mb = pq.read_table(path, columns=columns).nbytes / 2**20
        file_mb = path.stat().st_size / 2**20
        arguments = {
            "run": str(run_dir),
            "path": str(path),
            "batch_size": args.batch_size,
            "threads": args.threads,
        }
        arguments["output"] = str(directory / "predictions.parquet")
        result = subprocess.run(
            [sys.executable, __file__, "--measure", json.dumps(arguments)],
            capture_output=True,
            text=True,
            check=True,
        )
        numbers = json.loads(result.stdout.strip().splitlines()[-1])
    rate = numbers["rows"] / numbers["seconds"]
    print(f"# mtl-predict throughput (CPU, {numbers['threads']} thread(s), torch {torch.__version__})")
    print(f"\n{numbers['rows']} rows x 20 columns (Parquet), batches of {args.batch_size}, Parquet output")
    print(f"input file: {file_mb:.0f} MiB on disk, {arrow_mb:.0f} MiB as Arrow columns")
    print(f"mtl-predict: {rate:,.0f} rows/s ({numbers['seconds']:.1f} s for the whole call)")
    print(f"model forward alone (baseline): {numbers['forward_rows_per_s']:,.0f} rows/s")
    growth = numbers["peak_mb"] - numbers["before_mb"]
    print(
        f"RSS: {numbers['before_mb']:.0f} MiB after imports, peak {numbers['peak_mb']:.0f} MiB "
        f"(growth {growth:.0f} MiB = {growth / arrow_mb:.2f}x the Arrow size)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
