"""A table file streamed in small batches encodes exactly as data=table encodes the same split, in every
file format; errors name the row of the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from mtl_lab.batch import Batch
from mtl_lab.data.table import TableDataModule
from mtl_lab.errors import DataError
from mtl_lab.prediction import table_stream
from mtl_lab.prediction.table_data import TablePredictionData
from mtl_lab.prediction.table_stream import TableStream

FEATURES = {"numeric": ["age", "income"], "categorical": ["region"]}
TASKS = {
    "churn": {"column": "churned", "kind": "binary"},
    "segment": {"column": "segment", "kind": "classification"},
    "spend": {"column": "spend", "kind": "regression"},
}
HEADER = "id,age,income,region,churned,segment,spend"


def _row(i: int) -> str:
    """Text a user's CSV holds: 1.0/0.0 binary labels (pandas with missing values), NA, class numbers."""
    age = "NA" if i % 11 == 3 else str(20 + i)
    churned = "" if i % 5 == 1 else ("1.0" if i % 2 else "0.0")
    segment = "" if i % 6 == 5 else str(i % 3 + 1)
    spend = "" if i % 4 == 2 else f"{i * 0.5}"
    return f"{i},{age},{1000 * (i % 7)},{['north', 'south', 'east'][i % 3] if i != 4 else ''},{churned},{segment},{spend}"


def _csv(path: Path, rows: int = 60, rewrite: dict[int, str] | None = None) -> Path:
    lines = [(rewrite or {}).get(i, _row(i)) for i in range(rows)]
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def _jsonl(csv: Path) -> Path:
    path = csv.with_suffix(".jsonl")
    records = []
    for line in csv.read_text().splitlines()[1:]:
        cells = dict(zip(HEADER.split(","), line.split(","), strict=True))
        record: dict[str, Any] = {"id": int(cells["id"]), "region": cells["region"] or None}
        for key in ("age", "income", "spend"):
            if cells[key] not in ("", "NA"):
                record[key] = float(cells[key])  # an absent key is a missing value
        record["churned"] = None if not cells["churned"] else cells["churned"] == "1.0"
        record["segment"] = int(cells["segment"]) if cells["segment"] else None
        records.append(record)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _stream(trained: TableDataModule, path: Path, carry: list[str], **node: Any) -> TableStream:
    cfg = OmegaConf.create({"data": {"name": "table", "features": FEATURES, "tasks": TASKS}, "tasks": None})
    cfg.paths = {"output_dir": str(path.parent)}
    data = TablePredictionData.from_run(cfg, trained.preprocessing_state())
    return TableStream(data, {"path": str(path), **node}, "test", True, carry, batch_size=7)


def _concat(batches: list[Batch], key: str) -> dict[str, torch.Tensor]:
    return {name: torch.cat([getattr(b, key)[name] for b in batches]) for name in getattr(batches[0], key)}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_streamed_batches_equal_the_split_data_table_builds(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _csv(tmp_path / "t.csv")
    path = path if fmt == "csv" else _jsonl(path)
    trained = TableDataModule(
        path=str(path), features=FEATURES, tasks=TASKS, split={"train": 0.5, "val": 0.25, "test": 0.25}
    )
    monkeypatch.setattr(table_stream, "READ_ROWS", 5)
    stream = _stream(trained, path, ["id"], split={"train": 0.5, "val": 0.25, "test": 0.25})
    assert stream.labelled_tasks == ("churn", "segment", "spend")
    batches = list(stream.batches(lambda number: True))
    assert [b.batch.size for b in batches] == [7] * 8 + [4]
    assert [i for b in batches for i in b.carry.column("id").to_pylist()] == list(range(60))
    every = {f"{split}_path": str(path) for split in ("train", "val", "test")}  # every row in each split
    whole = TableDataModule(**every, features=FEATURES, tasks=TASKS)
    whole.load_preprocessing_state(trained.preprocessing_state())
    expected = whole.split("test")
    streamed = [b.batch for b in batches]
    for key in ("inputs", "targets", "masks"):
        for name, value in _concat(streamed, key).items():
            torch.testing.assert_close(
                value, getattr(expected, key)[name], rtol=0, atol=0, msg=f"{key} {name}"
            )
    kept = list(stream.batches(lambda number: number % 2 == 1))  # rank 1 of 2: batches 1, 3, 5, 7
    assert [b.carry.column("id")[0].as_py() for b in kept] == [7, 21, 35, 49]


def test_the_run_own_file_gives_the_run_split_rows_and_missing_labels_are_unscored(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv")
    fractions = {"train": 0.6, "val": 0.2, "test": 0.2}
    trained = TableDataModule(path=str(path), features=FEATURES, tasks=TASKS, split=fractions, seed=3)
    cfg = OmegaConf.create(
        {"data": {"name": "table", "features": FEATURES, "tasks": TASKS}, "tasks": ["spend"]}
    )
    cfg.paths = {"output_dir": str(tmp_path)}
    data = TablePredictionData.from_run(cfg, trained.preprocessing_state())
    assert list(data.tasks) == ["spend"]
    node = {"path": str(path), "split": fractions, "seed": 3}
    stream = TableStream(data, node, "test", False, ["id"], batch_size=5)
    assert stream.description == f"the test split of {path} (the run's random split)"
    ids = [i for b in stream.batches(lambda n: True) for i in b.carry.column("id").to_pylist()]
    assert len(ids) == 12 and ids == sorted(ids)
    expected = trained.split("test").inputs["numeric"]
    streamed = torch.cat([b.batch.inputs["numeric"] for b in stream.batches(lambda n: True)])
    torch.testing.assert_close(streamed, expected, rtol=0, atol=0)
    no_labels = tmp_path / "new.csv"
    no_labels.write_text("\n".join(line.rsplit(",", 3)[0] for line in path.read_text().splitlines()) + "\n")
    assert TableStream(data, {"path": str(no_labels)}, "test", True, [], 5).labelled_tasks == ()


def test_errors_name_the_row_of_the_file(tmp_path: Path) -> None:
    trained = TableDataModule(path=str(_csv(tmp_path / "t.csv")), features=FEATURES, tasks=TASKS)
    bad_label = _csv(tmp_path / "bad.csv", rewrite={24: "24,44,0,east,1.0,1,much"})
    stream = _stream(trained, bad_label, [])
    with pytest.raises(
        DataError,
        match=r"^task 'spend' \(.*bad.csv, column 'spend'\): value 'much' at row 25 is not a number$",
    ):
        list(stream.batches(lambda number: True))
    unseen = _csv(tmp_path / "unseen.csv", rewrite={30: "30,50,0,east,1.0,7,1.0"})
    with pytest.raises(
        DataError, match=r"class 7 at row 31 is not a class of the train split; train classes: 1, 2, 3$"
    ):
        list(_stream(trained, unseen, []).batches(lambda number: True))
    text = _csv(tmp_path / "text.csv", rewrite={40: "40,old,0,east,1.0,1,1.0"})
    with pytest.raises(
        DataError, match=r"feature 'age' \(.*text.csv\): value 'old' at row 41 is not a number$"
    ):
        list(_stream(trained, text, []).batches(lambda number: True))
    with pytest.raises(
        DataError, match=r"data.missing_features=error: .*t.csv, column 'age', row 4: missing value$"
    ):
        list(_stream(trained, tmp_path / "t.csv", [], missing_features="error").batches(lambda number: True))
