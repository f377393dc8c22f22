"""data=table end to end, in-process: a run on a user's files writes preprocessing.json, and mtl-eval
(evaluate_run) reproduces its test metrics from that file even after the data files changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest
from conftest import compose_config
from omegaconf import OmegaConf, open_dict

from mtl_lab.data.table.customers import write_customers
from mtl_lab.evaluation import evaluate_run
from mtl_lab.experiment import run_experiment

#: A tiny tabular model trained for two short epochs, no progress bar.
TINY = [
    "encoder=mlp",
    "encoder.name=tabular",
    "encoder.hidden_dims=[16]",
    "trainer.max_epochs=2",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=4",
    "~callbacks.rich_progress_bar",
]
FEATURES = "{numeric: [age, income, tenure_months, monthly_spend, support_calls], categorical: [region, plan, channel]}"
TASKS = "{churn: {column: churned, kind: binary}, segment: {column: segment, kind: classification}, spend: {column: spend_next_month, kind: regression}}"


def write_split_files(directory: Path, rows: int = 600) -> dict[str, Path]:
    """The demo's customers cut into train (80%), val and test files (Parquet, CSV, JSONL)."""
    table = pq.read_table(write_customers(directory / "all.parquet", rows, seed=1))
    n_train, n_val = int(rows * 0.8), int(rows * 0.1)
    parts = {
        "train": table.slice(0, n_train),
        "val": table.slice(n_train, n_val),
        "test": table.slice(n_train + n_val),
    }
    paths = {
        "train": directory / "train.parquet",
        "val": directory / "val.csv",
        "test": directory / "test.jsonl",
    }
    for split, part in parts.items():
        save(part, paths[split])
    return paths


def save(table: pa.Table, path: Path) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".csv":
        pa_csv.write_csv(table, path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))


def train_table_run(run_dir: Path, paths: dict[str, Path]) -> Path:
    """A real run with data=table, and the .hydra files mtl-train would have written."""
    overrides = [
        "data=table",
        *(f"data.{split}_path={path}" for split, path in paths.items()),
        f"data.features={FEATURES}",
        f"data.tasks={TASKS}",
        "data.batch_size=64",
        *TINY,
    ]
    cfg = compose_config(overrides, run_dir)
    run_experiment(cfg)
    saved = cfg.copy()
    with open_dict(saved):
        saved.paths.output_dir = "${hydra:runtime.output_dir}"
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(saved, run_dir / ".hydra" / "config.yaml")
    return run_dir


def test_mtl_eval_of_a_table_run_reproduces_its_test_metrics_from_the_saved_preprocessing(
    tmp_path: Path,
) -> None:
    paths = write_split_files(tmp_path / "data")
    run_dir = train_table_run(tmp_path / "run", paths)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["tasks"]["segment"]["class_names"] == ["bargain", "family", "professional", "vip"]
    assert all(0 < summary["tasks"][t]["labelled"]["test"] < 60 for t in ("churn", "segment", "spend"))
    saved = json.loads((run_dir / "preprocessing.json").read_text())
    assert saved["format"] == "mtl_lab.table/1" and [
        c["column"] for c in saved["features"]["categorical"]
    ] == ["region", "plan", "channel"]
    expected = {k: v for k, v in summary["metrics"].items() if k.startswith("test/")}
    assert len(expected) == 11  # test/loss, a loss per task, 3 + 2 + 2 metrics

    def check(record: dict) -> None:
        assert set(record["metrics"]) == set(expected)
        for name, value in expected.items():
            assert record["metrics"][name] == pytest.approx(value, abs=1e-5), name

    check(evaluate_run(run_dir).record)
    # shuffle the val/test rows and drop half of the train rows: refitting would map the data differently
    for split in ("val", "test"):
        table = read(paths[split])
        save(table.take(list(reversed(range(table.num_rows)))), paths[split])
    save(read(paths["train"]).slice(0, 240), paths["train"])
    record = evaluate_run(run_dir).record
    check(record)
    assert record["tasks"]["segment"]["class_names"] == summary["tasks"]["segment"]["class_names"]
    # without the saved preprocessing the changed train rows are refitted: other numbers
    shutil.move(run_dir / "preprocessing.json", tmp_path / "aside.json")
    refitted = evaluate_run(run_dir).record["metrics"]
    assert refitted["test/spend/mae"] != pytest.approx(expected["test/spend/mae"], abs=1e-5)


def read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    if path.suffix == ".csv":
        return pa_csv.read_csv(path)
    return pa_json.read_json(path)
