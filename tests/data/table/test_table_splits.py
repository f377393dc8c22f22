"""data=table splits: random fractions from the seed, a split column, one file per split; their errors,
and row numbers that stay the file's rows after a random split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from table_files import FEATURES, TASKS, customers, table_kwargs, write_table, write_text

from mtl_lab.data.table import TableDataModule
from mtl_lab.errors import ConfigError, DataError


def numbered(tmp_path: Path, n: int = 200) -> Path:
    """A table whose feature ``row`` is the 1-based file row, so split contents can be read back."""
    rows = [f"{i},{i % 3},{i % 2}" for i in range(1, n + 1)]
    return write_text(tmp_path / "rows.csv", "row,kind,flag", rows)


def split_rows(dm: TableDataModule) -> dict[str, list[int]]:
    dm.setup()
    state = dm.preprocessing_state()["features"]["numeric"][0]
    rows = {}
    for split in ("train", "val", "test"):
        standard = dm.split(split).inputs["numeric"][:, 0].double().numpy()
        rows[split] = np.rint(standard * state["std"] + state["mean"]).astype(int).tolist()
    return rows


def random_table(path: Path, **kwargs) -> TableDataModule:
    return TableDataModule(
        path=str(path), features={"numeric": ["row"]}, tasks={"flag": {"kind": "binary"}}, **kwargs
    )


def test_random_split_follows_the_fractions_and_the_seed_and_keeps_file_order(tmp_path: Path) -> None:
    path = numbered(tmp_path)
    rows = split_rows(random_table(path, seed=3))
    assert [len(rows[s]) for s in ("train", "val", "test")] == [160, 20, 20]
    assert sorted(rows["train"] + rows["val"] + rows["test"]) == list(range(1, 201))
    assert all(r == sorted(r) for r in rows.values())
    assert split_rows(random_table(path, seed=3)) == rows
    assert split_rows(random_table(path, seed=4))["test"] != rows["test"]
    uneven = split_rows(random_table(path, seed=3, split={"train": 0.5, "val": 0.2, "test": 0.3}))
    assert [len(uneven[s]) for s in ("train", "val", "test")] == [100, 40, 60]


def test_split_column_and_one_file_per_split_put_each_row_where_it_says(tmp_path: Path) -> None:
    data = customers(20)
    dm = TableDataModule(**table_kwargs(write_table(tmp_path / "t.parquet", data)))
    dm.setup()
    assert [len(dm.split(s)) for s in ("train", "val", "test")] == [16, 2, 2]
    files = {}
    for split in ("train", "val", "test"):
        picked = [i for i, f in enumerate(data["fold"]) if f == split]
        files[f"{split}_path"] = str(
            write_table(tmp_path / f"{split}.csv", {k: [v[i] for i in picked] for k, v in data.items()})
        )
    separate = TableDataModule(features=FEATURES, tasks=TASKS, **files)
    separate.setup()
    for split in ("train", "val", "test"):
        for name, tensor in dm.split(split).inputs.items():
            assert separate.split(split).inputs[name].tolist() == tensor.tolist()
        for name, tensor in dm.split(split).targets.items():
            assert separate.split(split).targets[name].tolist() == tensor.tolist()
    assert separate.preprocessing_state() == dm.preprocessing_state()


def test_rows_in_errors_are_rows_of_the_file_even_after_a_random_split(tmp_path: Path) -> None:
    lines = [f"{i},{'ab'[i % 2]}" for i in range(1, 101)]
    dm = TableDataModule(
        path=str(write_text(tmp_path / "t.csv", "row,kind", lines)),
        features={"numeric": ["row"]},
        tasks={"kind": {"kind": "classification"}},
        seed=0,
    )
    test_row = split_rows(dm)["test"][3]
    lines[test_row - 1] = f"{test_row},zebra"
    write_text(tmp_path / "t.csv", "row,kind", lines)
    with pytest.raises(
        DataError, match=rf"split 'test': class 'zebra' at row {test_row} is not a class of the train split"
    ):
        TableDataModule(
            path=str(tmp_path / "t.csv"),
            features={"numeric": ["row"]},
            tasks={"kind": {"kind": "classification"}},
            seed=0,
        ).setup()


@pytest.mark.parametrize(
    ("split", "message"),
    [
        (
            {"train": 0.8, "val": 0.1, "test": 0.2},
            r"^data.split: fractions must sum to 1, got train=0.8, val=0.1, test=0.2 \(sum 1.1\)$",
        ),
        ({"train": 1.2, "val": -0.1, "test": -0.1}, r"^data.split.val: must be a fraction >= 0, got -0.1$"),
        (
            {"train": 0.8, "valid": 0.1, "test": 0.1},
            r"^data.split: unknown split 'valid'; choices: test, train, val; did you mean 'val'\?$",
        ),
        (
            {"train": 0.9, "test": 0.1},
            r"^data.split.val: missing; give a fraction for each of train, val, test$",
        ),
    ],
)
def test_bad_split_fractions_are_config_errors(tmp_path: Path, split, message) -> None:
    with pytest.raises(ConfigError, match=message):
        random_table(numbered(tmp_path), split=split)


def test_an_empty_split_is_an_error_naming_the_split_and_file(tmp_path: Path) -> None:
    path = numbered(tmp_path, 20)
    with pytest.raises(
        DataError,
        match=rf"^data.split: split 'val' of {path} is empty \(20 rows, fractions train=0.9, val=0, test=0.1\)$",
    ):
        random_table(path, split={"train": 0.9, "val": 0.0, "test": 0.1})
    fold = write_text(tmp_path / "f.csv", "row,flag,fold", ["1,0,train", "2,1,train", "3,0,val"])
    with pytest.raises(
        DataError, match=rf"^data.split_column: no row of {fold} has split 'test' in column 'fold'$"
    ):
        random_table(fold, split_column="fold")
    empty = write_text(tmp_path / "empty.csv", "row,flag", [])
    kwargs = {"features": {"numeric": ["row"]}, "tasks": {"flag": {"kind": "binary"}}}
    with pytest.raises(DataError, match=rf"^data.test_path: {empty} has no data rows$"):
        TableDataModule(train_path=str(fold), val_path=str(fold), test_path=str(empty), **kwargs)


def test_an_unknown_or_missing_split_value_names_file_column_row_and_choices(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", "row,flag,fold", ["1,0,train", "2,1,valid", "3,0,test"])
    with pytest.raises(
        ConfigError,
        match=rf"^data.split_column \({path}, column 'fold', row 2\): unknown split 'valid'; choices: test, train, val; did you mean 'val'\?$",
    ):
        random_table(path, split_column="fold")
    write_text(path, "row,flag,fold", ["1,0,train", "2,1,", "3,0,test"])
    with pytest.raises(
        DataError, match=r"column 'fold', row 2\): no split given; each row needs one of: train, val, test$"
    ):
        random_table(path, split_column="fold")


def test_a_task_without_labels_in_a_split_names_task_column_and_split(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "t.csv", "row,flag,y,fold", ["1,0,1,train", "2,1,2,train", "3,0,,val", "4,1,3,test"]
    )
    tasks = {"flag": {"kind": "binary"}, "y": {"kind": "regression"}}
    dm = TableDataModule(path=str(path), features={"numeric": ["row"]}, tasks=tasks, split_column="fold")
    with pytest.raises(
        DataError, match=rf"^task 'y' \({path}, column 'y'\), split 'val': no labelled sample in the split$"
    ):
        dm.setup()
    only_flag = TableDataModule(
        path=str(path), features={"numeric": ["row"]}, tasks=tasks, split_column="fold", use_tasks=["flag"]
    )
    only_flag.setup()  # the unlabelled task is not selected
    assert only_flag.labelled_counts() == {"train": {"flag": 2}, "val": {"flag": 1}, "test": {"flag": 1}}


def test_path_and_per_split_paths_are_exclusive_and_per_split_paths_come_together(tmp_path: Path) -> None:
    path = str(numbered(tmp_path))
    kwargs = {"features": {"numeric": ["row"]}, "tasks": {"flag": {"kind": "binary"}}}
    with pytest.raises(
        ConfigError,
        match=r"^data.path and data.train_path: give either one file holding every split \(data.path\) or one file per split",
    ):
        TableDataModule(path=path, train_path=path, **kwargs)
    with pytest.raises(
        ConfigError,
        match=r"^data.val_path: missing; with data.train_path every split needs its own file \(or give one data.path\)$",
    ):
        TableDataModule(train_path=path, test_path=path, **kwargs)
    with pytest.raises(ConfigError, match=r"^data.path: no data file given; set data.path=<file>"):
        TableDataModule(**kwargs)
    with pytest.raises(ConfigError, match=r"^data.split_column: only with one file \(data.path\)"):
        TableDataModule(train_path=path, val_path=path, test_path=path, split_column="fold", **kwargs)
