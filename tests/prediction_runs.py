"""Tiny finished runs for the mtl-predict and mtl-export tests, trained once per test session.

``digits_run``: MultiDigits, the small CNN, one epoch. ``table_run``: data=table on a customer table
written here (an id column, numeric and categorical features, binary / classification / regression
labels with some missing, a ``fold`` split column), encoder=tabular, one epoch. ``text_run``:
experiment=sentiment_ner (data=reviews: 40/20/20 rows, a tiny BERT of hidden size 16), one epoch.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from omegaconf import OmegaConf, open_dict

ROWS = 400
FEATURES = "{numeric: [age, income], categorical: [region, plan]}"
TASKS = (
    "{churn: {column: churned, kind: binary}, segment: {column: segment, kind: classification}, "
    "spend: {kind: regression}}"
)
#: mtl-train arguments of the table run (before data.path).
TABLE_ARGS = [
    "data=table",
    "encoder=tabular",
    "encoder.hidden_dims=[16]",
    f"data.features={FEATURES}",
    f"data.tasks={TASKS}",
    "data.split_column=fold",
    "data.batch_size=32",
    "data.eval_batch_size=16",
    "trainer.max_epochs=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "~callbacks.rich_progress_bar",
]


def customers(rows: int = ROWS, seed: int = 0) -> dict[str, Any]:
    """The table's columns: every 10 rows 8 train, 1 val, 1 test (``fold``); labels ~10% missing."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 80, rows)
    income = rng.normal(50, 15, rows)
    region = rng.choice(["north", "south", "east", "west"], rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    score = (age - 50) / 20 + (income - 50) / 15 + (plan == "pro")
    missing = rng.random((3, rows)) < 0.1
    segments = np.array(["bargain", "family", "vip"])[np.digitize(score, [-0.5, 0.8])]
    folds = np.array(["train"] * 8 + ["val", "test"])[np.arange(rows) % 10]
    return {
        "customer_id": np.arange(1000, 1000 + rows),
        "age": pa.array(age, mask=rng.random(rows) < 0.03),
        "income": income,
        "region": region,
        "plan": plan,
        "churned": pa.array(score + rng.normal(0, 0.5, rows) > 0, mask=missing[0]),
        "segment": pa.array(segments, mask=missing[1]),
        "spend": pa.array(2 * score + rng.normal(0, 0.2, rows), mask=missing[2]),
        "fold": folds,
    }


def write_customers(path: Path, rows: int = ROWS, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(customers(rows, seed)), path)
    return path


#: mtl-train arguments of the text run.
TEXT_ARGS = [
    "experiment=sentiment_ner",
    "data.train_size=40",
    "data.val_size=20",
    "data.test_size=20",
    "data.tiny_bert_config={hidden_size: 16, intermediate_size: 32}",
    "data.batch_size=20",
    "data.eval_batch_size=6",
    "trainer.max_epochs=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "~callbacks.rich_progress_bar",
    "test=false",
]


def _train(run_dir: Path, overrides: list[str]) -> Path:
    """A real run trained in-process, with the .hydra files mtl-train would have written."""
    from conftest import compose_config

    from mtl_lab.experiment import run_experiment

    cfg = compose_config(overrides, run_dir)
    summary = run_experiment(cfg)
    assert summary.status == "completed", summary.error
    saved = cfg.copy()
    with open_dict(saved):
        saved.paths.output_dir = "${hydra:runtime.output_dir}"
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(saved, run_dir / ".hydra" / "config.yaml")
    OmegaConf.save(OmegaConf.create(overrides), run_dir / ".hydra" / "overrides.yaml")
    return run_dir


@functools.cache
def digits_run(root: Path) -> Path:
    from conftest import FAST, SMALL_CNN

    return _train(root / "digits", [*FAST, *SMALL_CNN, "trainer.max_epochs=1"])


@functools.cache
def table_run(root: Path) -> Path:
    data = write_customers(root / "table_data" / "customers.parquet")
    return _train(root / "table", [*TABLE_ARGS, f"data.path={data}"])


@functools.cache
def text_run(root: Path) -> Path:
    return _train(root / "text", TEXT_ARGS)


def runs_root(factory: Any) -> Path:
    """The session's directory of these runs (``factory``: pytest's ``tmp_path_factory``)."""
    return Path(factory.getbasetemp()) / "prediction_runs"
