"""data=table: its training epoch time against the same data as in-memory tensors, and the peak memory of
loading a large table.

1. Epoch time. A synthetic customer table (data=table_demo's generator, ``--rows`` rows, Parquet) is
   built as ``data=table`` (features and tasks of conf/data/table_demo.yaml); the baseline is a plain
   in-memory datamodule holding copies of the very same tensors (inputs, targets, masks). Both train the
   same model (experiment=table_demo's tabular encoder and heads, two copies with the same initial
   weights, Adam) in the same plain PyTorch loop: forward, masked task losses summed, backward, step.
   Epochs alternate baseline, table, baseline, ..., baseline; each table epoch is divided by the mean of
   the baseline epochs around it (the machine's drift cancels), the first of every round is warm-up, and
   the printed ratio is the median. Target: table <= 1.15x in-memory.
2. Peak memory. A ``--memory-rows`` x 20-column Parquet file (12 numeric, 5 categorical with 5 to 10,000
   values, 3 labels with 10% missing) is built and set up as ``data=table`` in a fresh subprocess; the
   peak resident set size (``ru_maxrss``) minus the resident size after the imports is printed beside
   the file's in-memory Arrow size (``pyarrow.Table.nbytes`` of the columns read). Target: <= 3x Arrow.

    python benchmarks/table_data.py [--rows 50000] [--rounds 3] [--epochs 3] [--memory-rows 1000000]
        [--threads 1] [--clock cpu]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from timing import compose_config, median, now, quiet_lightning, ratios_to_neighbours, use_clock, verdict

from mtl_lab.batch import InputSpec
from mtl_lab.data import MultiTaskDataModule, TensorSplit
from mtl_lab.data.table import TableDataModule
from mtl_lab.data.table.customers import write_customers
from mtl_lab.data.table.demo import DEMO_FEATURES, DEMO_TASKS
from mtl_lab.experiment import build_module
from mtl_lab.tasks import TaskSpec

TIME_TARGET = 1.15
MEMORY_TARGET = 3.0
WIDE_NUMERIC = 12
WIDE_CATEGORIES = (5, 20, 100, 1000, 10000)


class InMemory(MultiTaskDataModule):
    """The baseline: given splits (copies of the table's tensors), tasks and inputs, served as they are."""

    name = "in_memory"

    def __init__(self, source: TableDataModule) -> None:
        self.source_tasks, self.specs = source.tasks, source.input_specs
        self.given = {s: _copy(source.split(s)) for s in ("train", "val", "test")}
        super().__init__(source.batch_size, source.eval_batch_size, 0, source.seed)

    def declare_tasks(self) -> dict[str, TaskSpec]:
        return dict(self.source_tasks)

    @property
    def input_specs(self) -> dict[str, InputSpec]:
        return self.specs

    def make_splits(self) -> dict[str, TensorSplit]:
        return self.given


def _copy(split: TensorSplit) -> TensorSplit:
    def clone(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in d.items()}

    return TensorSplit(clone(split.inputs), clone(split.targets), clone(split.masks))


class PlainTraining:
    """One arm: its own copy of the model and optimizer, trained epoch by epoch on one datamodule."""

    def __init__(self, model: torch.nn.Module, datamodule: MultiTaskDataModule) -> None:
        self.model, self.tasks = copy.deepcopy(model).train(), datamodule.tasks
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loader = datamodule.train_dataloader()

    def epoch(self) -> float:
        start = now()
        for batch in self.loader:
            predictions = self.model(batch.inputs).predictions
            total = sum(
                spec.compute_loss(predictions[t], batch.targets[t], batch.masks.get(t))
                for t, spec in self.tasks.items()
            )
            self.optimizer.zero_grad()
            total.backward()  # type: ignore[union-attr]
            self.optimizer.step()
        return now() - start


def epoch_ratios(
    rows: int, rounds: int, epochs: int, directory: Path
) -> tuple[list[float], float, float, int]:
    path = write_customers(directory / "customers.parquet", rows, seed=0)
    table = TableDataModule(path=str(path), features=DEMO_FEATURES, tasks=DEMO_TASKS, batch_size=512)
    table.setup("fit")
    memory = InMemory(table)
    cfg = compose_config(["experiment=table_demo"], directory / "run")
    torch.manual_seed(0)
    model = build_module(cfg, table).model
    ratios, table_s, memory_s = [], [], []
    for _ in range(rounds):
        arm, baseline = PlainTraining(model, table), PlainTraining(model, memory)
        measured, around = [], [baseline.epoch()]
        for _ in range(epochs + 1):
            measured.append(arm.epoch())
            around.append(baseline.epoch())
        ratios += ratios_to_neighbours(measured, around)[1:]
        table_s += measured[1:]
        memory_s += around[1:]
    return ratios, median(table_s), median(memory_s), len(table.train_dataloader())


def write_wide_table(path: Path, rows: int, seed: int = 0) -> dict[str, object]:
    """A ``rows`` x 20 Parquet table (see the module docstring); returns data=table's keywords for it."""
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    for j in range(WIDE_NUMERIC):
        columns[f"x{j}"] = pa.array(rng.normal(size=rows), mask=rng.random(rows) < 0.01)
    for j, size in enumerate(WIDE_CATEGORIES):
        names = pa.array([f"v{i}" for i in range(size)])
        codes = pa.array(rng.integers(0, size, rows).astype(np.int32))
        columns[f"c{j}"] = pa.DictionaryArray.from_arrays(codes, names).cast(pa.string())
    signal = np.asarray(columns["x0"].fill_null(0.0)) + rng.normal(size=rows)
    columns["flag"] = pa.array(signal > 0, mask=rng.random(rows) < 0.1)
    columns["level"] = pa.array(np.digitize(signal, [-1, 0, 1]).astype(np.int64), mask=rng.random(rows) < 0.1)
    columns["amount"] = pa.array(2 * signal, mask=rng.random(rows) < 0.1)
    pq.write_table(pa.table(columns), path)
    return {
        "path": str(path),
        "features": {
            "numeric": [f"x{j}" for j in range(WIDE_NUMERIC)],
            "categorical": [f"c{j}" for j in range(5)],
        },
        "tasks": {
            "flag": {"kind": "binary"},
            "level": {"kind": "classification"},
            "amount": {"kind": "regression"},
        },
    }


def resident_mb() -> float:
    """The current resident set size (Linux /proc/self/statm), in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def measure_loading(kwargs_json: str) -> None:
    """(In the subprocess) build and set up data=table; print the RSS numbers and the Arrow size, JSON."""
    kwargs = json.loads(kwargs_json)
    before = resident_mb()
    datamodule = TableDataModule(**kwargs)
    datamodule.setup("fit")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    after = resident_mb()
    columns = [*kwargs["features"]["numeric"], *kwargs["features"]["categorical"], *kwargs["tasks"]]
    arrow = pq.read_table(kwargs["path"], columns=columns).nbytes / 2**20
    print(json.dumps({"before_mb": before, "peak_mb": peak, "after_mb": after, "arrow_mb": arrow}))


def memory_of_loading(rows: int, directory: Path) -> dict[str, float]:
    kwargs = write_wide_table(directory / "wide.parquet", rows)
    result = subprocess.run(
        [sys.executable, __file__, "--measure-loading", json.dumps(kwargs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50000, help="rows of the epoch-time table")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per round (after one warm-up)")
    parser.add_argument("--memory-rows", type=int, default=1_000_000, help="rows of the 20-column table")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: steadier ratios)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    parser.add_argument("--measure-loading", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure_loading:
        measure_loading(args.measure_loading)
        return 0
    use_clock(args.clock)
    torch.set_num_threads(args.threads)
    quiet_lightning()
    with tempfile.TemporaryDirectory() as tmp:
        ratios, table_s, memory_s, steps = epoch_ratios(args.rows, args.rounds, args.epochs, Path(tmp))
        memory = memory_of_loading(args.memory_rows, Path(tmp))
    print(f"# data=table (CPU, {args.threads} thread(s), {args.clock} clock, torch {torch.__version__})")
    sizes = f"{args.rows} customers (table_demo), batch 512, {steps} steps/epoch, {len(ratios)} epochs"
    print(f"\nEpoch time, {sizes}")
    print(f"in-memory tensors: {1000 * memory_s:.0f} ms/epoch")
    spread = f"median of {len(ratios)} epochs; min {min(ratios):.3f}, max {max(ratios):.3f}"
    ratio = median(ratios)
    print(f"data=table: {1000 * table_s:.0f} ms/epoch, {ratio:.3f}x in-memory ({spread})")
    print(f"target data=table <= {TIME_TARGET}x in-memory: {ratio:.3f}x {verdict(ratio, TIME_TARGET)}")
    growth = memory["peak_mb"] - memory["before_mb"]
    times = growth / memory["arrow_mb"]
    print(f"\nPeak memory, {args.memory_rows} rows x 20 columns (Parquet), build + setup in a subprocess")
    print(f"Arrow size of the columns: {memory['arrow_mb']:.0f} MiB")
    print(
        f"RSS: {memory['before_mb']:.0f} MiB after imports, peak {memory['peak_mb']:.0f} MiB, "
        f"{memory['after_mb']:.0f} MiB after setup; peak growth {growth:.0f} MiB = {times:.2f}x Arrow"
    )
    print(f"target peak growth <= {MEMORY_TARGET}x Arrow: {times:.2f}x {verdict(times, MEMORY_TARGET)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
